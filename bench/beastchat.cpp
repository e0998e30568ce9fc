// beastchat: the yardstick natterbench measures natterd against — a minimal
// chat server on Boost.Beast and Boost.JSON, in memory, single-threaded,
// without natterd's checks, storage or limits. It speaks just enough of
// natterd's protocol for natterbench's workloads: hello (any token is
// accepted) answered with welcome; join_room answered with an empty history;
// send_message pushed as receive_message to the room's members or to the
// recipient's connections, and to the sender. What it costs per message is
// what a WebSocket server with a JSON parser costs, nothing more.
//
//   beastchat --host 127.0.0.1 --port 0   (prints "listening on 127.0.0.1:PORT")
//
// Loopback only: it refuses any other host.

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

class Session;

/// Who is where: rooms and signed-in users, by name and email.
struct Directory
{
    std::unordered_map<std::string, std::unordered_set<Session *>> rooms;
    std::unordered_map<std::string, std::unordered_set<Session *>> users;
    long long nextId = 1;
};

std::string isoNow()
{
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const std::time_t seconds = std::time_t(ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, int(ms % 1000));
    return text;
}

class Session : public std::enable_shared_from_this<Session>
{
public:
    Session(tcp::socket socket, Directory &directory)
        : m_ws(std::move(socket))
        , m_directory(directory)
    {}

    ~Session()
    {
        for (const std::string &room : m_rooms)
            m_directory.rooms[room].erase(this);
        if (!m_email.empty())
            m_directory.users[m_email].erase(this);
    }

    void start()
    {
        m_ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        m_ws.async_accept([self = shared_from_this()](beast::error_code error) {
            if (!error)
                self->read();
        });
    }

    /// Queues one text frame; frames go out one write at a time, in order.
    void send(std::shared_ptr<const std::string> frame)
    {
        m_queue.push_back(std::move(frame));
        if (m_queue.size() == 1)
            write();
    }

private:
    void read()
    {
        m_ws.async_read(m_buffer, [self = shared_from_this()](beast::error_code error, std::size_t) {
            if (error)
                return;
            self->handle(beast::buffers_to_string(self->m_buffer.data()));
            self->m_buffer.consume(self->m_buffer.size());
            self->read();
        });
    }

    void write()
    {
        m_ws.text(true);
        m_ws.async_write(asio::buffer(*m_queue.front()),
                         [self = shared_from_this()](beast::error_code error, std::size_t) {
                             if (error)
                                 return;
                             self->m_queue.pop_front();
                             if (!self->m_queue.empty())
                                 self->write();
                         });
    }

    void handle(const std::string &text)
    {
        boost::system::error_code error;
        const json::value parsed = json::parse(text, error);
        if (error || !parsed.is_object())
            return;
        const json::object &frame = parsed.get_object();
        const json::value *type = frame.if_contains("type");
        if (!type || !type->is_string())
            return;
        const json::string_view kind = type->get_string();
        if (kind == "hello") {
            m_email = json::value_to<std::string>(frame.at("email"));
            m_name = json::value_to<std::string>(frame.at("name"));
            m_directory.users[m_email].insert(this);
            json::object welcome{{"type", "welcome"},
                                 {"user", json::object{{"email", m_email}, {"name", m_name}}}};
            send(std::make_shared<const std::string>(json::serialize(welcome)));
        } else if (kind == "join_room") {
            const std::string room = json::value_to<std::string>(frame.at("room"));
            m_rooms.insert(room);
            m_directory.rooms[room].insert(this);
            json::object history{{"messages", json::array()}, {"room", room}, {"type", "history"}};
            send(std::make_shared<const std::string>(json::serialize(history)));
        } else if (kind == "send_message") {
            const json::value *to = frame.if_contains("to");
            const json::value *room = frame.if_contains("room");
            // Keys in natterd's order (sorted), so natterbench reads both alike.
            json::object message;
            message["from"] = json::object{{"email", m_email}, {"name", m_name}};
            message["id"] = m_directory.nextId++;
            if (room)
                message["room"] = *room;
            message["text"] = frame.at("text");
            if (to)
                message["to"] = *to;
            message["ts"] = isoNow();
            message["type"] = "receive_message";
            const auto out = std::make_shared<const std::string>(json::serialize(message));
            if (room) {
                for (Session *member : m_directory.rooms[json::value_to<std::string>(*room)])
                    member->send(out);
            } else if (to) {
                for (Session *recipient : m_directory.users[json::value_to<std::string>(*to)])
                    recipient->send(out);
                send(out);
            }
        }
    }

    websocket::stream<beast::tcp_stream> m_ws;
    beast::flat_buffer m_buffer;
    std::deque<std::shared_ptr<const std::string>> m_queue;
    Directory &m_directory;
    std::string m_email;
    std::string m_name;
    std::unordered_set<std::string> m_rooms;
};

void accept(tcp::acceptor &acceptor, Directory &directory)
{
    acceptor.async_accept([&acceptor, &directory](beast::error_code error, tcp::socket socket) {
        if (!error) {
            socket.set_option(tcp::no_delay(true));
            std::make_shared<Session>(std::move(socket), directory)->start();
        }
        accept(acceptor, directory);
    });
}

} // namespace

int main(int argc, char **argv)
{
    std::string host = "127.0.0.1";
    unsigned short port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--host") == 0)
            host = argv[i + 1];
        else if (std::strcmp(argv[i], "--port") == 0)
            port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
    }
    const auto address = asio::ip::make_address(host);
    if (!address.is_loopback()) {
        std::fprintf(stderr, "beastchat: a benchmark yardstick listens on loopback only\n");
        return 2;
    }
    asio::io_context io(1);
    tcp::acceptor acceptor(io, tcp::endpoint(address, port));
    acceptor.listen(4096);
    Directory directory;
    accept(acceptor, directory);
    std::printf("beastchat: listening on %s:%u\n", host.c_str(), unsigned(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](beast::error_code, int) { io.stop(); });
    io.run();
    return 0;
}
