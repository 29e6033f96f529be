// SPDX-License-Identifier: Apache-2.0
// run_process / run_shell / blocking: output of any size, exit statuses and signals,
// timeouts and cancellation that kill the whole process group, and nothing left behind.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

#include "test_support.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

// True once `pid` no longer runs (gone, or a zombie waiting for init to reap it).
bool process_gone(pid_t pid, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = clock_type::now() + limit;
  for (;;) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_field, comm, state;
    if (stat >> pid_field >> comm >> state && state == "Z") return true;
    if (clock_type::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

// No child of this test process is left, running or zombie.
bool no_children_left() {
  int status = 0;
  return ::waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

pid_t first_line_as_pid(const std::string& s) {
  return static_cast<pid_t>(std::stol(s.substr(0, s.find('\n'))));
}

}  // namespace

TEST(run_process, captures_stdout_stderr_and_the_exit_code) {
  const auto r = cohort::run_shell("echo out; echo err >&2; exit 3");
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.ok());
  EXPECT_GT(r.wall.count(), 0);
  EXPECT_TRUE(no_children_left());
}

TEST(run_process, runs_argv_searched_in_path_without_a_shell) {
  const auto r = cohort::run_process({"printf", "%s|", "a b", "$HOME"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out, "a b|$HOME|");
}

TEST(run_process, a_signal_that_ended_the_child_is_reported) {
  const auto r = cohort::run_shell("kill -KILL $$");
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.signal, SIGKILL);
}

TEST(run_process, a_missing_program_is_a_system_error_naming_it) {
  try {
    cohort::run_process({"cohort-no-such-program-xyz"});
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find("cohort-no-such-program-xyz"), std::string::npos);
  }
  EXPECT_THROW(cohort::run_process({}), std::system_error);
  EXPECT_TRUE(no_children_left());
}

TEST(run_process, megabytes_on_both_streams_never_deadlock) {
  // 8 MiB on each stream, interleaved: far beyond a pipe's 64 KiB buffer.
  const auto r = cohort::run_shell(
      "head -c 8388608 /dev/zero; head -c 8388608 /dev/zero >&2; head -c 1000 /dev/zero");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out.size(), 8388608u + 1000u);
  EXPECT_EQ(r.err.size(), 8388608u);
}

TEST(run_process, input_is_written_to_stdin_then_closed) {
  std::string big(3 * 1024 * 1024, 'x');
  big += "end";
  cohort::process_options o;
  o.input = big;
  const auto r = cohort::run_process({"cat"}, o);
  EXPECT_EQ(r.out.size(), big.size());
  EXPECT_EQ(r.out, big);
  // A child that does not read its input at all still ends, and the caller gets no SIGPIPE.
  o.input = std::string(1024 * 1024, 'y');
  EXPECT_TRUE(cohort::run_shell("exec 0<&-; exit 0", o).ok());
}

TEST(run_process, working_directory_and_extra_environment) {
  cohort::process_options o;
  o.working_directory = "/tmp";
  o.environment = {"COHORT_PROCESS_TEST=hello", "HOME=/nowhere"};
  const auto r = cohort::run_shell("pwd; echo $COHORT_PROCESS_TEST $HOME", o);
  EXPECT_EQ(r.out, "/tmp\nhello /nowhere\n");
}

TEST(run_process, uncaptured_output_is_inherited_and_not_kept) {
  cohort::process_options o;
  o.capture = false;
  const auto r = cohort::run_shell("true", o);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.out.empty());
}

TEST(run_process, on_output_streams_chunks_and_on_start_gives_the_pid) {
  std::string seen_out, seen_err;
  int pid = 0;
  cohort::process_options o;
  o.on_output = [&](std::string_view chunk, bool from_stderr) {
    (from_stderr ? seen_err : seen_out).append(chunk);
  };
  o.on_start = [&](int p) { pid = p; };
  const auto r = cohort::run_shell("echo $$; echo e >&2", o);
  EXPECT_TRUE(r.out.empty()) << "on_output takes the output instead";
  EXPECT_EQ(first_line_as_pid(seen_out), pid);
  EXPECT_EQ(seen_err, "e\n");
}

TEST(run_process, resource_usage_is_reported) {
  const auto r = cohort::run_shell("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done");
  EXPECT_TRUE(r.ok());
  EXPECT_GT(r.user_cpu + r.system_cpu, 0ns);
  EXPECT_GT(r.max_rss_kb, 0);
}

TEST(run_process, timeout_kills_the_whole_group_and_throws_after_reaping) {
  cohort::process_options o;
  o.timeout = 200ms;
  std::string out;
  o.on_output = [&](std::string_view c, bool) { out.append(c); };
  const auto t0 = clock_type::now();
  // The grandchild (sleep) is in the child's group and holds the stdout pipe.
  EXPECT_THROW(cohort::run_shell("sleep 30 & echo $!; wait", o), cohort::timeout_error);
  EXPECT_LT(clock_type::now() - t0, 5s);
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(process_gone(first_line_as_pid(out)));
  EXPECT_TRUE(no_children_left());
}

TEST(run_process, a_child_that_ignores_sigterm_is_killed_after_the_grace) {
  cohort::process_options o;
  o.timeout = 100ms;
  o.term_grace = 300ms;
  // The child says it is ready once the trap is installed, so SIGTERM cannot come early.
  std::atomic<bool> ready{false};
  o.on_output = [&](std::string_view, bool) { ready = true; };
  const auto t0 = clock_type::now();
  EXPECT_THROW(cohort::run_shell("trap '' TERM; echo ready; while :; do sleep 0.05; done", o),
               cohort::timeout_error);
  const auto took = clock_type::now() - t0;
  EXPECT_TRUE(ready.load());
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
  EXPECT_TRUE(no_children_left());
}

TEST(run_process, leftovers_in_the_group_are_killed_when_the_child_ends) {
  std::string out;
  cohort::process_options o;
  o.on_output = [&](std::string_view c, bool) { out.append(c); };
  const auto t0 = clock_type::now();
  // The background sleep would hold the pipe open for 30 s.
  const auto r = cohort::run_shell("sleep 30 & echo $!", o);
  EXPECT_LT(clock_type::now() - t0, 5s);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(process_gone(first_line_as_pid(out)));
}

TEST(run_process, a_process_that_left_the_group_cannot_hold_the_call) {
  // setsid puts the grandchild outside the group; it keeps our stdout pipe open.
  const auto t0 = clock_type::now();
  const auto r = cohort::run_shell("setsid sleep 3 & echo started");
  EXPECT_LT(clock_type::now() - t0, 2500ms);
  EXPECT_EQ(r.out, "started\n");
}

TEST(run_process, cancelling_the_task_kills_the_group_and_throws_task_cancelled) {
  cohort::scheduler pool({.workers = 2});
  std::atomic<int> grandchild{0};
  std::atomic<bool> started{false};
  const auto t0 = clock_type::now();
  cohort::task_group g(pool);
  auto t = g.spawn([&] {
    cohort::process_options o;
    o.on_output = [&](std::string_view c, bool) {
      grandchild = first_line_as_pid(std::string(c));
      started = true;
    };
    return cohort::run_shell("sleep 30 & echo $!; wait", o);
  });
  ASSERT_TRUE(cohort_test::eventually([&] { return started.load(); }));
  g.cancel();
  g.join();
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
  EXPECT_LT(clock_type::now() - t0, 10s);
  EXPECT_TRUE(process_gone(grandchild.load()));
  EXPECT_TRUE(no_children_left());
}

TEST(run_process, a_sibling_failure_kills_running_processes) {
  cohort::scheduler pool({.workers = 2});
  const auto t0 = clock_type::now();
  cohort::task_group g(pool);
  auto sleeper = g.spawn([] { return cohort::run_shell("sleep 30"); });
  g.spawn([] {
    std::this_thread::sleep_for(100ms);
    throw std::runtime_error("boom");
  });
  EXPECT_THROW(g.join(), cohort::task_group_error);
  EXPECT_EQ(sleeper.status(), cohort::task_status::cancelled);
  EXPECT_LT(clock_type::now() - t0, 10s);
}

TEST(run_process, many_concurrent_calls_from_tasks) {
  cohort::scheduler pool({.workers = 4});
  const std::size_t n = cohort_test::scaled(200, 40);
  std::atomic<std::size_t> ok{0};
  cohort::scope(pool, [&](cohort::task_group& g) {
    for (std::size_t i = 0; i < n; ++i)
      g.spawn([&, i] {
        const auto r = cohort::run_process({"echo", std::to_string(i)});
        if (r.out == std::to_string(i) + "\n") ok.fetch_add(1, std::memory_order_relaxed);
      });
  });
  EXPECT_EQ(ok.load(), n);
  EXPECT_TRUE(no_children_left());
}

TEST(blocking, returns_what_the_callable_returns_and_propagates_exceptions) {
  EXPECT_EQ(cohort::blocking([] { return 42; }), 42);
  int x = 1;
  int& ref = cohort::blocking([&]() -> int& { return x; });
  EXPECT_EQ(&ref, &x);
  EXPECT_THROW(cohort::blocking([]() -> int { throw std::runtime_error("e"); }),
               std::runtime_error);
  cohort::scheduler pool({.workers = 1});
  cohort::task_group g(pool);
  auto t = g.spawn([] { return cohort::blocking([] { return 7; }); });
  g.join();
  EXPECT_EQ(t.get(), 7);
}

// Needs the compensation behind detail::begin_blocking (a spare thread takes the blocked
// worker's place): fails until it lands, by design (the stub cannot be detected).
TEST(blocking, a_blocked_task_on_a_one_worker_pool_does_not_strand_the_job_behind_it) {
  cohort::scheduler pool({.workers = 1});
  std::mutex m;
  std::condition_variable cv;
  bool released = false;
  bool in_time = false;
  cohort::task_group g(pool);
  g.spawn([&] {
    cohort::blocking([&] {
      std::unique_lock lock(m);
      in_time = cv.wait_for(lock, 5s, [&] { return released; });
    });
  });
  g.spawn([&] {
    std::lock_guard lock(m);
    released = true;
    cv.notify_all();
  });
  g.join();
  EXPECT_TRUE(in_time) << "the job queued behind the blocked task never ran (no compensation?)";
}
