// natterd: the headless Natter chat server.
#include "natterdcommandline.h"

#include <QCoreApplication>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    return Natter::runNatterd(app);
}
