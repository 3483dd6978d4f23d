// A chat room, a bidirectional stream: each client joins the room with one
// stream on its own connection, says a few lines and hears everyone else's
// while it talks. The server keeps, for every member, the lines waiting to be
// sent to it, so a slow reader holds back nobody but itself. Server and
// clients share one loop and talk over TCP on 127.0.0.1. Exits 0 when every
// client heard every other client's lines, in the order they were said, and
// none of its own.
#include <duet/duet.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <exception>
#include <optional>
#include <string>
#include <vector>

struct msg {
  std::string from;  // set by the server: a client cannot speak for another
  std::string text;
};

inline constexpr duet::method<"chat.room", duet::stream<msg>(duet::stream<msg>)> chat;

// ---- the server -------------------------------------------------------------

// One member of the room: its name and the lines waiting to be sent to it.
struct member {
  std::string name;
  std::deque<msg> outbox;
  duet::async_event wake;  // set when the outbox has lines or the member left
  bool here = true;

  void leave() {
    here = false;
    wake.set();
  }
};

class room {
 public:
  void join(member& m) {
    m_members.push_back(&m);
    m.outbox.push_back(msg{"room", "welcome, " + m.name + " (" + std::to_string(m_members.size()) + " here)"});
  }
  void leave(member& m) { std::erase(m_members, &m); }

  // Queues `line` for every member but its sender. Waking a member runs its
  // writer at once, inside set(): walk a copy of the list.
  void say(const member& from, const msg& line) {
    const std::vector<member*> members = m_members;
    for (member* m : members) {
      if (m == &from || !m->here) continue;
      m->outbox.push_back(line);
      m->wake.set();
    }
  }

 private:
  std::vector<member*> m_members;
};

// What a member says goes to the room, until it finishes sending.
duet::task<void> hear(room& hall, member& me, duet::stream_reader<msg>& in) {
  try {
    while (std::optional<msg> line = co_await in.next()) {
      line->from = me.name;
      hall.say(me, *line);
    }
  } catch (...) {
    me.leave();  // a line that does not decode: the writer stops too
    throw;
  }
  me.leave();
}

// What the room says goes to the member, in order, as fast as it reads.
duet::task<void> tell(member& me, duet::stream_writer<msg>& out) {
  for (;;) {
    co_await me.wake;
    me.wake.reset();
    while (!me.outbox.empty()) {
      const bool sent = co_await out.send(me.outbox.front());  // a deque's elements stay put
      if (!sent) co_return;  // the member's stream ended
      me.outbox.pop_front();
    }
    if (!me.here) co_return;
  }
}

// ---- the clients ------------------------------------------------------------

// What `co_await client.open(chat)` yields: messages both ways, then a status.
using chat_stream = duet::client_stream_of<decltype(chat)>;

duet::task<void> say_lines(chat_stream& room, int lines) {
  for (int i = 0; i < lines; ++i) {
    const msg line{"", "line " + std::to_string(i)};
    const bool sent = co_await room.send(line);
    if (!sent) co_return;
  }
}

duet::task<void> listen(chat_stream& room, std::size_t lines, std::vector<msg>& heard) {
  while (heard.size() < lines) {
    std::optional<msg> line = co_await room.next();
    if (!line) co_return;
    heard.push_back(std::move(*line));
  }
}

// Says `lines` lines while hearing everyone else's, then leaves the room.
duet::task<std::vector<msg>> talk(chat_stream& room, int lines, std::size_t others) {
  std::vector<msg> heard;
  co_await duet::when_all(say_lines(room, lines), listen(room, others * static_cast<std::size_t>(lines), heard));
  const duet::result<void> end = co_await room.finish();
  if (!end) std::printf("leaving the room failed: %s\n", end.error().to_string().c_str());
  co_return heard;
}

// Whether `heard` holds every line of every other client, each client's in order, and none of `self`'s.
bool heard_everyone(const std::vector<msg>& heard, const std::vector<std::string>& names, const std::string& self,
                    int lines) {
  for (const std::string& name : names) {
    std::vector<std::string> theirs;
    for (const msg& m : heard)
      if (m.from == name) theirs.push_back(m.text);
    std::vector<std::string> said;
    for (int i = 0; name != self && i < lines; ++i) said.push_back("line " + std::to_string(i));
    if (theirs != said) return false;
  }
  return heard.size() == (names.size() - 1) * static_cast<std::size_t>(lines);
}

duet::task<int> chat_room(duet::event_loop& loop, duet::endpoint where) {
  const std::vector<std::string> names{"alice", "bob", "carol", "dave"};
  const int lines = 20;

  // Everyone joins first, each on its own connection, and waits for the
  // server's welcome: then nobody misses a line said later.
  std::vector<duet::client<duet::tcp_stream>> clients;
  clients.reserve(names.size());
  std::vector<chat_stream> rooms;
  for (const std::string& name : names) {
    clients.emplace_back(loop, (co_await duet::tcp_stream::connect(loop, where)).value());
    duet::call_options options;
    options.metadata.add("chat-name", name);
    rooms.push_back(co_await clients.back().open(options, chat));
    const std::optional<msg> welcome = co_await rooms.back().next();
    if (!welcome) co_return 1;
    std::printf("%-5s <- %s: %s\n", name.c_str(), welcome->from.c_str(), welcome->text.c_str());
  }

  // Then all talk at once.
  std::vector<duet::task<std::vector<msg>>> talks;
  for (chat_stream& room : rooms) talks.push_back(talk(room, lines, names.size() - 1));
  const std::vector<std::vector<msg>> heard = co_await duet::when_all(std::move(talks));

  int failures = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const bool ok = heard_everyone(heard[i], names, names[i], lines);
    std::printf("%-5s heard %zu lines, first \"%s: %s\": %s\n", names[i].c_str(), heard[i].size(),
                heard[i].empty() ? "" : heard[i].front().from.c_str(),
                heard[i].empty() ? "" : heard[i].front().text.c_str(), ok ? "all of them" : "NOT what was said");
    if (!ok) ++failures;
  }
  for (auto& client : clients) co_await client.close();
  co_return failures;
}

int main() {
  duet::event_loop loop;
  duet::router router;
  room hall;
  router.on(chat, [&hall](duet::call_context& ctx, duet::stream_reader<msg>& in,
                          duet::stream_writer<msg>& out) -> duet::task<void> {
    member me;
    me.name = ctx.request_metadata().find("chat-name").value_or("someone");
    hall.join(me);
    me.wake.set();  // the welcome waits in the outbox
    try {
      co_await duet::when_all(hear(hall, me, in), tell(me, out));
    } catch (...) {
      hall.leave(me);  // `me` goes with this frame
      throw;
    }
    hall.leave(me);
  });
  duet::server server(loop, router);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();

  const int failures = loop.block_on([&]() -> duet::task<int> {
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    int failed = 1;
    try {
      failed = co_await chat_room(loop, where);
    } catch (const std::exception& e) {
      std::printf("the clients failed: %s\n", e.what());
    }
    server.stop();
    co_await serving.join();
    co_return failed;
  }());
  return failures == 0 ? 0 : 1;
}
