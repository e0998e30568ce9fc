// natterd: the headless Natter chat server.
#include "server/natterdcommandline.h"

#include <QCoreApplication>

#ifdef NATTER_HAVE_EPOLL
#include "server/epolleventdispatcher.h"
#endif

int main(int argc, char *argv[])
{
#ifdef NATTER_HAVE_EPOLL
    // Must be installed before the application object exists.
    // NATTER_EVENT_DISPATCHER=qt keeps Qt's own, for comparison in benchmarks.
    if (qgetenv("NATTER_EVENT_DISPATCHER") != "qt")
        QCoreApplication::setEventDispatcher(new Natter::EpollEventDispatcher);
#endif
    QCoreApplication app(argc, argv);
    return Natter::runNatterd(app);
}
