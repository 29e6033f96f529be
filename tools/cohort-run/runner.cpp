// SPDX-License-Identifier: Apache-2.0
#include "runner.hpp"

#include <cohort/cohort.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "command_template.hpp"
#include "duration.hpp"
#include "input.hpp"
#include "job_execution.hpp"
#include "job_ledger.hpp"
#include "job_watchdog.hpp"
#include "output.hpp"
#include "running_jobs.hpp"
#include "signal_watch.hpp"

namespace cohort_run {
namespace {

// How much finished output -k holds in memory before spilling to a temporary file:
// COHORT_RUN_KEEP_ORDER_MEMORY=<bytes>, default 64 MiB.
std::size_t keep_order_memory() {
  if (const char* v = std::getenv("COHORT_RUN_KEEP_ORDER_MEMORY"))
    if (const long long n = std::atoll(v); n > 0) return static_cast<std::size_t>(n);
  return std::size_t{64} << 20;
}

class batch {
 public:
  batch(const run_options& o, command_template tmpl, std::unique_ptr<input_source> input)
      : options_(o),
        template_(std::move(tmpl)),
        input_(std::move(input)),
        slots_(o.jobs),
        output_(o.keep_order, o.tag, keep_order_memory()),
        ledger_(o, input_->total(), false) {}

  // Called from the signal thread, the deadline thread, or a job: kill everything running
  // and start nothing more.
  void halt_now() {
    stop_starting();
    // seq_cst pair with run()'s store of group_ then load of halted_now_: either this sees
    // the group or run() sees the flag, so a halt is never lost.
    halted_now_.store(true, std::memory_order_seq_cst);
    std::lock_guard lock(group_mutex_);  // run() clears group_ under it before the group dies
    if (auto* g = group_.load(std::memory_order_seq_cst)) g->cancel();
  }
  void stop_starting() {
    stop_starting_.store(true, std::memory_order_relaxed);
    slots_.close();
    input_->interrupt();
  }
  void on_signal(int sig) {
    ledger_.note_signal(sig);
    halt_now();
  }

  int run() {
    if (!options_.results_dir.empty()) make_results_directory(options_.results_dir);
    if (const char* w = std::getenv("COHORT_WATCHDOG"))
      if (auto stall = parse_duration(w)) watchdog_.emplace(slots_, *stall);

    // One worker per slot: each job's task waits in run_process (inside blocking()).
    cohort::scheduler pool({.workers = options_.jobs, .name = "cohort"});
    pool.set_watchdog(std::chrono::nanoseconds(0));  // the job-level watchdog above says more
    std::optional<std::jthread> deadline_thread;
    std::mutex deadline_mutex;
    std::condition_variable_any deadline_cv;
    {
      cohort::task_group group(
          pool, {.on_failure = cohort::failure_policy::keep_going, .name = "cohort-run"});
      group_.store(&group, std::memory_order_seq_cst);
      if (halted_now_.load(std::memory_order_seq_cst)) group.cancel();
      if (options_.deadline) {
        deadline_thread.emplace([&, limit = *options_.deadline](std::stop_token st) {
          std::unique_lock lock(deadline_mutex);
          if (!deadline_cv.wait_for(lock, st, limit, [] { return false; }) &&
              !st.stop_requested()) {
            ledger_.note_deadline();
            halt_now();
          }
        });
      }
      start_jobs(group);
      try {
        group.join();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "cohort-run: %s\n", e.what());
      }
      std::lock_guard lock(group_mutex_);
      group_.store(nullptr, std::memory_order_seq_cst);
    }
    // A job spawned just before a halt may be dropped by the cancelled group unrun.
    if (const std::size_t finished = ledger_.finished(); spawned_ > finished)
      ledger_.add_skipped(spawned_ - finished);
    if (deadline_thread) {
      deadline_thread->request_stop();
      deadline_thread->join();
    }
    watchdog_.reset();
    output_.flush_held();
    return ledger_.finish();
  }

 private:
  void start_jobs(cohort::task_group& group) {
    std::size_t seq = 0;
    std::vector<std::string> args;
    while (!stop_starting_.load(std::memory_order_relaxed) && input_->next(args)) {
      ++seq;
      if (ledger_.skipped_by_resume(seq)) {
        job_record r;
        r.seq = seq;
        r.input = args;
        r.command = template_.render(args, seq, 0);
        r.status = job_status::skipped;
        record(std::move(r), nullptr);
        output_.passed_over(seq);
        continue;
      }
      const std::size_t slot = slots_.acquire();
      if (slot == 0) {  // halted while waiting for a slot: this job never starts
        ledger_.add_skipped(1);
        break;
      }
      std::string command = template_.render(args, seq, slot);
      // The slot is released by this guard even if the group drops the callable unrun.
      auto holder = std::make_shared<slot_guard>(slots_, slot);
      std::string name = std::to_string(seq);  // "#12 cmd": the job in traces and dump()
      name.insert(name.begin(), '#');
      name += ' ';
      name.append(command, 0, 80);
      ++spawned_;
      group.spawn(
          [this, seq, holder, input = std::move(args), command = std::move(command)]() mutable {
            run_job(seq, holder->slot, std::move(input), std::move(command));
          },
          {.name = std::move(name)});
      args = {};
    }
    // Jobs never started because of a halt: counted when the input says how many.
    if (const auto total = input_->total(); total && *total > seq)
      ledger_.add_skipped(*total - seq);
  }

  struct slot_guard {
    slot_guard(running_jobs& j, std::size_t s) : jobs(j), slot(s) {}
    ~slot_guard() { jobs.release(slot); }
    slot_guard(const slot_guard&) = delete;
    slot_guard& operator=(const slot_guard&) = delete;
    running_jobs& jobs;
    std::size_t slot;
  };

  void run_job(std::size_t seq, std::size_t slot, std::vector<std::string> input,
               std::string command) {
    slots_.started(slot, seq, command);
    job_hooks hooks;
    hooks.on_start = [&](int pid) { slots_.set_pid(slot, pid); };
    if (watchdog_)
      hooks.saw_output = [&](std::string_view chunk) { slots_.saw_output(slot, chunk); };
    hooks.lines = [&](const std::string& tag, std::string_view text, bool to_stderr) {
      output_.lines(tag, text, to_stderr);
    };
    hooks.stop_retrying = [&] { return stop_starting_.load(std::memory_order_relaxed); };
    executed_job job = execute_job(options_, seq, input, std::move(command), hooks);
    if (!options_.results_dir.empty()) write_results(options_.results_dir, job.output);
    if (report_wanted()) job.record.input = std::move(input);
    output_.finished(std::move(job.output));
    record(std::move(job.record), &slot);
  }

  bool report_wanted() const { return !options_.report.empty(); }

  // Bookkeeping for one ended or skipped job.
  // `slot`: the finished job's own slot, still held (null for a skipped job).
  void record(job_record r, const std::size_t* slot) {
    if (watchdog_) watchdog_->job_finished();
    const auto halt = ledger_.record(std::move(r), slots_.running() - (slot ? 1 : 0));
    if (halt == job_ledger::halt_action::now)
      halt_now();
    else if (halt == job_ledger::halt_action::soon)
      stop_starting();
  }

  const run_options& options_;
  std::size_t spawned_ = 0;  // main thread only
  command_template template_;
  std::unique_ptr<input_source> input_;
  running_jobs slots_;
  output_writer output_;
  job_ledger ledger_;
  std::optional<job_watchdog> watchdog_;

  std::mutex group_mutex_;
  std::atomic<cohort::task_group*> group_{nullptr};
  std::atomic<bool> halted_now_{false};
  // relaxed: an advisory "start no more"; slots_.close() is what stops the loop for sure.
  std::atomic<bool> stop_starting_{false};
};

}  // namespace

int run_batch(const run_options& options) {
  std::string error;
  auto input = make_input(options.sources, 0, options.null_separated,
                          options.bar && options.sources.empty());
  auto tmpl = command_template::compile(options.command, input->sources(), error);
  if (!tmpl) {
    std::fprintf(stderr, "cohort-run: %s\n", error.c_str());
    return usage_error_status;
  }
  if (options.dry_run) {
    std::vector<std::string> args;
    std::string text;
    for (std::size_t seq = 1; input->next(args); ++seq) {
      text += tmpl->render(args, seq, (seq - 1) % options.jobs + 1) + "\n";
      if (text.size() > (1 << 16)) {
        write_all(1, text);
        text.clear();
      }
    }
    write_all(1, text);
    return 0;
  }
  // Before the scheduler's threads exist, so they inherit the blocked signals.
  // A signal before the batch exists is held for it.
  signal_target<batch> target;
  signal_watch signals([&](int sig) { target.deliver(sig); });
  try {
    batch b(options, std::move(*tmpl), std::move(input));  // opens the joblog and report
    const auto attached = target.attach(b);  // detached before b dies, however run() ends
    return b.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cohort-run: %s\n", e.what());
    return usage_error_status;
  }
}

}  // namespace cohort_run
