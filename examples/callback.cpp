// A server that calls its clients back over the connection they called on.
// A job server runs a client's job step by step: it sends each log line to
// the client as a notification (the client's `log` method) and, before the
// step that deletes anything, asks the client (its `confirm` method) and
// waits for the answer. Each client serves those methods with a router of
// its own, given to its constructor. Server and clients share one loop and
// talk over TCP on 127.0.0.1. Exits 0 when the client that agrees gets its
// job done with every log line, and the client that declines gets its job
// stopped with `aborted` before the deleting step.
#include <duet/duet.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>
#include <vector>

struct job {
  std::string name;
  int steps = 0;
  int deleting_step = 0;  // the step that needs the client's consent
};

// Served by the server.
inline constexpr duet::method<"jobs.run", int(job)> run_job;  // steps done
// Served by each client: the server calls them back.
inline constexpr duet::method<"jobs.log", void(std::string)> log_line;
inline constexpr duet::method<"jobs.confirm", bool(std::string)> confirm;

// The server's handler: one coroutine per job, calling the client back
// through its call context.
duet::task<duet::result<int>> run(duet::call_context& ctx, job j) {
  duet::peer client = ctx.peer();
  for (int step = 1; step <= j.steps; ++step) {
    if (step == j.deleting_step) {
      // The question goes with a timeout, and is withdrawn if the client
      // cancels the job meanwhile.
      duet::call_options asking;
      asking.timeout = std::chrono::seconds(5);
      asking.stop = ctx.stop_token();
      const std::string question = j.name + ": step " + std::to_string(step) + " deletes old files, go on?";
      const duet::result<bool> agreed = co_await client.try_call(asking, confirm, question);
      if (!agreed) co_return agreed.error();
      if (!*agreed) {
        co_return duet::status(duet::status_code::aborted, "the client declined step " + std::to_string(step));
      }
    }
    // A notification: one-way, in order with the calls around it.
    (void)client.notify(log_line, j.name + ": step " + std::to_string(step) + " done");
  }
  co_return j.steps;
}

// One client: its own router answers the server's calls back.
struct job_client {
  duet::router routes;
  std::vector<std::string> lines;
  int questions = 0;

  explicit job_client(bool agree) {
    routes.on(log_line, [this](std::string line) { lines.push_back(std::move(line)); });
    routes.on(confirm, [this, agree](std::string question) {
      ++questions;
      std::printf("  asked: %s %s\n", question.c_str(), agree ? "yes" : "no");
      return agree;
    });
  }
};

duet::task<int> run_clients(duet::event_loop& loop, duet::endpoint where) {
  int failures = 0;
  const job cleanup{"cleanup", 4, 3};

  job_client agreeing(true);
  duet::client first(loop, (co_await duet::tcp_stream::connect(loop, where)).value(), agreeing.routes);
  const duet::result<int> done = co_await first.try_call(run_job, cleanup);
  if (done && *done == 4 && agreeing.lines.size() == 4 && agreeing.questions == 1) {
    std::printf("agreeing client:  %d steps done, %zu log lines, last \"%s\"\n", *done, agreeing.lines.size(),
                agreeing.lines.back().c_str());
  } else {
    std::printf("agreeing client:  unexpected %s\n", done ? "count" : done.error().to_string().c_str());
    ++failures;
  }

  job_client declining(false);
  duet::client second(loop, (co_await duet::tcp_stream::connect(loop, where)).value(), declining.routes);
  const duet::result<int> stopped = co_await second.try_call(run_job, cleanup);
  if (stopped.code() == duet::status_code::aborted && declining.lines.size() == 2) {
    std::printf("declining client: %s after %zu log lines\n", stopped.error().to_string().c_str(),
                declining.lines.size());
  } else {
    std::printf("declining client: not stopped as expected\n");
    ++failures;
  }

  co_await first.close();
  co_await second.close();
  co_return failures;
}

int main() {
  duet::event_loop loop;
  duet::router router;
  router.on(run_job, &run);
  duet::server server(loop, router);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();

  const int failures = loop.block_on([&]() -> duet::task<int> {
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    int failed = 1;
    try {
      failed = co_await run_clients(loop, where);
    } catch (const std::exception& e) {
      std::printf("the clients failed: %s\n", e.what());
    }
    server.stop();
    co_await serving.join();
    co_return failed;
  }());
  std::printf(failures == 0 ? "ok\n" : "FAILED\n");
  return failures == 0 ? 0 : 1;
}
