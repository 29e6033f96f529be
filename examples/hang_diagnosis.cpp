// SPDX-License-Identifier: Apache-2.0
// The asyncio story, replayed: three workers pull from a queue, two fail, the third
// blocks forever on the now-empty queue, and main waits in join. Run it with
// COHORT_WATCHDOG=2s (or pass --watchdog) and the scheduler tells you which task is stuck,
// in which group, and who waits on it. The program then unblocks the consumer so it ends.
#include <cohort/cohort.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

class blocking_queue {
 public:
  void push(int v) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(v);
    }
    ready_.notify_one();
  }
  int pop() {  // blocks while empty: the bug in this story
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !items_.empty(); });
    const int v = items_.front();
    items_.pop_front();
    return v;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<int> items_;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  cohort::scheduler pool({.workers = 3, .name = "app"});
  pool.enable_timing();
  if (argc > 1 && std::strcmp(argv[1], "--watchdog") == 0) pool.set_watchdog(2s);

  blocking_queue jobs;
  for (int i = 0; i < 3; ++i) jobs.push(i);

  std::thread rescue([&] {  // after a while, print the dump and end the story
    std::this_thread::sleep_for(3s);
    std::printf("---- scheduler::dump() while main waits ----\n%s", pool.dump().c_str());
    jobs.push(-1);
  });

  try {
    cohort::task_group consumers(
        pool, {.on_failure = cohort::failure_policy::keep_going, .name = "consumers"});
    for (int c = 0; c < 3; ++c) {
      consumers.spawn(
          [&jobs, c] {
            const int job = jobs.pop();
            if (c != 2) throw std::runtime_error("job " + std::to_string(job) + " failed");
            jobs.pop();  // consumer-2 wants a second job that never comes
          },
          {.name = "consumer-" + std::to_string(c)});
    }
    consumers.join();
  } catch (const cohort::task_group_error& e) {
    std::printf("join: %s\n", e.what());
  }
  rescue.join();
}
