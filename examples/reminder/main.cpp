// A reminder that outlives the process: `set` stores a text and an alarm in
// the actor's database and exits at once; `wait`, in a new process, starts
// the runtime, whose alarm index wakes the (hibernated) actor when the alarm
// is due, and the alarm handler prints the text.
//
//   example_reminder DATA_DIR set TEXT SECONDS
//   example_reminder DATA_DIR wait [TIMEOUT_SECONDS]
#include <cairn/cairn.hpp>
#include <cairn/storage.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>

namespace {

std::promise<void> delivered;  // the wait mode ends when a reminder fired

class reminder : public cairn::actor {
 public:
  void set(std::string text, std::int64_t seconds) {
    storage().put("text", text);
    storage().set_alarm(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  }

  // At least once: had this thrown, cairn would retry it (2 s, 4 s, ...).
  cairn::task<void> alarm(cairn::alarm_info info) override {
    auto text = storage().get_as<std::string>("text").value_or("(no text)");
    auto late = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now() -
                                                                       info.scheduled_time);
    std::printf("reminder: \"%s\" (due %lld ms ago, attempt %u)\n", text.c_str(), static_cast<long long>(late.count()),
                info.retry_count + 1);
    std::fflush(stdout);
    storage().remove("text");
    try {
      delivered.set_value();
    } catch (const std::future_error&) {  // a second firing (at least once)
    }
    co_return;
  }
};

int usage() {
  std::fprintf(stderr, "usage: example_reminder DATA_DIR set TEXT SECONDS\n       example_reminder DATA_DIR wait [TIMEOUT_SECONDS]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string mode = argv[2];
  cairn::runtime_options options;
  options.data_dir = argv[1];
  cairn::runtime rt(options);
  auto reminders = rt.register_namespace<reminder>("reminder");

  if (mode == "set" && argc == 5) {
    const std::int64_t seconds = std::atoll(argv[4]);
    rt.run([&]() -> cairn::task<> { co_await reminders.get("me").call(&reminder::set, std::string(argv[3]), seconds); });
    std::printf("reminder: set \"%s\" for %lld s from now; this process ends now\n", argv[3],
                static_cast<long long>(seconds));
    return 0;
  }
  if (mode == "wait" && argc <= 4) {
    const int timeout = argc == 4 ? std::atoi(argv[3]) : 60;
    std::printf("reminder: waiting up to %d s for a due reminder (nobody calls the actor: its alarm wakes it)\n",
                timeout);
    std::fflush(stdout);
    rt.start();
    bool fired = delivered.get_future().wait_for(std::chrono::seconds(timeout)) == std::future_status::ready;
    rt.stop();
    rt.run();  // drains: the handler's writes commit
    if (!fired) std::printf("reminder: nothing was due within %d s\n", timeout);
    return fired ? 0 : 1;
  }
  return usage();
}
