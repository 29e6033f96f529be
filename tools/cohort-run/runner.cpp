// SPDX-License-Identifier: Apache-2.0
#include "runner.hpp"

#include <cohort/cohort.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "command_template.hpp"
#include "direct_exec.hpp"
#include "duration.hpp"
#include "input.hpp"
#include "job_record.hpp"
#include "job_watchdog.hpp"
#include "joblog.hpp"
#include "output.hpp"
#include "progress_bar.hpp"
#include "report.hpp"
#include "running_jobs.hpp"
#include "signal_watch.hpp"
#include "summary.hpp"

namespace cohort_run {
namespace {

using steady = std::chrono::steady_clock;

// Failures kept for the summary; past this only a count (10^6 failures must not cost
// memory for lines nobody reads).
constexpr std::size_t failures_kept = 1000;

void make_directory(const std::string& path) {
  if (::mkdir(path.c_str(), 0777) != 0 && errno != EEXIST)
    throw std::runtime_error("--results: cannot create '" + path + "': " + std::strerror(errno));
}

void write_file(const std::string& path, const spool& content) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr)
    throw std::runtime_error("--results: cannot write '" + path + "': " + std::strerror(errno));
  content.for_each_piece(
      [&](std::string_view piece) { std::fwrite(piece.data(), 1, piece.size(), f); });
  std::fclose(f);
}

std::string joined(const std::vector<std::string>& words) {
  std::string s;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) s += ' ';
    s += words[i];
  }
  return s;
}

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
        output_(o.keep_order, o.tag, keep_order_memory()) {}

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
    {
      std::lock_guard lock(results_mutex_);
      if (cause_.signal == 0) cause_.signal = sig;
    }
    halt_now();
  }

  int run() {
    if (!options_.joblog.empty()) {
      if (options_.resume || options_.resume_failed)
        resume_from_ = joblog_record::read(options_.joblog);
      joblog_.emplace(options_.joblog, options_.resume || options_.resume_failed);
    }
    if (!options_.report.empty()) report_.emplace(options_.report);
    if (!options_.results_dir.empty()) make_directory(options_.results_dir);
    if (options_.bar) bar_.emplace(input_->total());
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
            {
              std::lock_guard results(results_mutex_);
              cause_.deadline = true;
            }
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
    if (spawned_ > finished_) totals_.skipped += spawned_ - finished_;
    if (deadline_thread) {
      deadline_thread->request_stop();
      deadline_thread->join();
    }
    watchdog_.reset();
    output_.flush_held();
    if (bar_) bar_->finish(finished_, totals_.failed);
    report_.reset();
    joblog_.reset();
    std::lock_guard lock(results_mutex_);  // the signal thread may still record a late signal
    write_all(2, failure_summary(failures_, failures_dropped_, totals_));
    return exit_status(totals_, cause_);
  }

 private:
  void start_jobs(cohort::task_group& group) {
    std::size_t seq = 0;
    std::vector<std::string> args;
    while (!stop_starting_.load(std::memory_order_relaxed) && input_->next(args)) {
      ++seq;
      if (skipped_by_resume(seq)) {
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
        std::lock_guard lock(results_mutex_);
        ++totals_.skipped;
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
    if (const auto total = input_->total(); total && *total > seq) {
      std::lock_guard lock(results_mutex_);
      totals_.skipped += *total - seq;
    }
  }

  struct slot_guard {
    slot_guard(running_jobs& j, std::size_t s) : jobs(j), slot(s) {}
    ~slot_guard() { jobs.release(slot); }
    slot_guard(const slot_guard&) = delete;
    slot_guard& operator=(const slot_guard&) = delete;
    running_jobs& jobs;
    std::size_t slot;
  };

  bool skipped_by_resume(std::size_t seq) const {
    if (!resume_from_) return false;
    const auto s = resume_from_->of(seq);
    return options_.resume ? s != joblog_record::state::absent
                           : s == joblog_record::state::succeeded;
  }

  void run_job(std::size_t seq, std::size_t slot, std::vector<std::string> input,
               std::string command) {
    slots_.started(slot, seq, command);
    job_record r;
    r.seq = seq;
    r.command = command;
    job_output out;
    out.seq = seq;
    if (options_.tag) out.tag = joined(input);
    const bool stream_lines = options_.line_buffer && !options_.keep_order;
    std::string pending[2];  // --line-buffer: the unfinished last line of stdout, stderr
    std::string err_tail;    // the end of stderr, for the failure summary

    cohort::process_options po;
    po.timeout = options_.timeout;
    po.term_grace = options_.term_grace;
    po.on_start = [&](int pid) { slots_.set_pid(slot, pid); };
    po.on_output = [&](std::string_view chunk, bool from_stderr) {
      if (from_stderr) {
        err_tail.append(chunk.size() > 512 ? chunk.substr(chunk.size() - 512) : chunk);
        if (err_tail.size() > 1024) err_tail.erase(0, err_tail.size() - 512);
      } else {
        r.stdout_bytes += chunk.size();
      }
      if (watchdog_) slots_.saw_output(slot, chunk);
      if (!stream_lines) {
        (from_stderr ? out.err : out.out).append(chunk);
        return;
      }
      std::string& p = pending[from_stderr ? 1 : 0];
      const auto nl = chunk.find_last_of('\n');
      if (nl == std::string_view::npos) {
        p.append(chunk);
        return;
      }
      p.append(chunk.substr(0, nl + 1));
      output_.lines(out.tag, p, from_stderr);
      p.assign(chunk.substr(nl + 1));
    };

    const auto argv = direct_argv(command);
    for (r.attempts = 1;; ++r.attempts) {
      if (r.attempts > 1) {  // a retry: only the last attempt's output counts
        out.out = spool();
        out.err = spool();
        err_tail.clear();
        r.stdout_bytes = 0;
      }
      run_attempt(r, argv, command, po);
      const bool failed = r.status == job_status::failed || r.status == job_status::timed_out;
      if (!failed || r.attempts >= options_.retries ||
          stop_starting_.load(std::memory_order_relaxed))
        break;
    }
    for (int i = 0; i < 2; ++i)
      if (!pending[i].empty()) output_.lines(out.tag, pending[i] + "\n", i == 1);
    r.last_stderr_line = last_line_of(err_tail);
    if (!options_.results_dir.empty()) {
      const std::string dir = options_.results_dir + "/" + std::to_string(seq);
      make_directory(dir);
      write_file(dir + "/stdout", out.out);
      write_file(dir + "/stderr", out.err);
    }
    if (report_) r.input = std::move(input);
    output_.finished(std::move(out));
    record(std::move(r), &slot);
  }

  void run_attempt(job_record& r, const std::optional<std::vector<std::string>>& argv,
                   const std::string& command, cohort::process_options& po) {
    r.start = std::chrono::system_clock::now();
    const auto t0 = steady::now();
    r.signal = 0;
    try {
      const cohort::process_result p =
          argv ? run_direct(*argv, command, po) : cohort::run_shell(command, po);
      r.exit_code = p.exit_code;
      r.signal = p.signal;
      r.user_cpu = p.user_cpu;
      r.system_cpu = p.system_cpu;
      r.max_rss_kb = p.max_rss_kb;
      r.status = p.exit_code == 0 ? job_status::succeeded : job_status::failed;
    } catch (const cohort::task_cancelled&) {
      r.status = job_status::cancelled;
      r.exit_code = -1;
      r.signal = SIGTERM;
    } catch (const cohort::timeout_error&) {
      r.status = job_status::timed_out;  // GNU parallel logs a timeout as exit -1, signal 15
      r.exit_code = -1;
      r.signal = SIGTERM;
    } catch (const std::system_error& e) {
      // Exec'd directly and could not start: what a shell would say and do.
      const bool missing = e.code() == std::errc::no_such_file_or_directory;
      const std::string what =
          "cohort-run: " + (argv ? (*argv)[0] : command) +
          (missing ? ": command not found\n" : ": " + e.code().message() + "\n");
      if (po.on_output) po.on_output(what, true);
      r.status = job_status::failed;
      r.exit_code = missing ? 127 : 126;
    } catch (const std::exception& e) {
      const std::string what = std::string("cohort-run: ") + e.what() + "\n";
      po.on_output(what, true);
      r.status = job_status::failed;
      r.exit_code = 126;
    }
    r.runtime = steady::now() - t0;
  }

  // exec'd directly; a script without a #! line (ENOEXEC) goes to /bin/sh as a shell would.
  static cohort::process_result run_direct(const std::vector<std::string>& argv,
                                           const std::string& command,
                                           cohort::process_options& po) {
    try {
      return cohort::run_process(argv, po);
    } catch (const std::system_error& e) {
      if (e.code() != std::errc::executable_format_error) throw;
    }
    return cohort::run_shell(command, po);
  }

  static std::string last_line_of(const std::string& text) {
    std::size_t end = text.size();
    while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
    const auto start = text.find_last_of('\n', end == 0 ? 0 : end - 1);
    const std::size_t from = start == std::string::npos || end == 0 ? 0 : start + 1;
    return text.substr(from, std::min<std::size_t>(end - from, 300));
  }

  // Bookkeeping for one ended or skipped job, serialised.
  // `slot`: the finished job's own slot, still held (null for a skipped job).
  void record(job_record r, const std::size_t* slot) {
    bool now = false, soon = false;
    {
      std::lock_guard lock(results_mutex_);
      switch (r.status) {
        case job_status::succeeded:
          ++totals_.succeeded;
          break;
        case job_status::failed:
        case job_status::timed_out:
          ++totals_.failed;
          break;
        case job_status::cancelled:
          ++totals_.cancelled;
          break;
        case job_status::skipped:
          ++totals_.skipped;
          break;
      }
      if (r.status != job_status::skipped) ++finished_;
      // A job killed by a halt did not finish: GNU parallel leaves it out of the joblog
      // (so --resume runs it again).
      if (joblog_ && r.status != job_status::cancelled && r.status != job_status::skipped) {
        using seconds = std::chrono::duration<double>;
        joblog_->write({r.seq, seconds(r.start.time_since_epoch()).count(),
                        seconds(r.runtime).count(), r.stdout_bytes, r.exit_code, r.signal,
                        r.command});
      }
      if (report_) report_->write(r);
      if (watchdog_) watchdog_->job_finished();
      check_halt(r, now, soon);
      if (r.status == job_status::failed || r.status == job_status::timed_out) {
        if (failures_.size() < failures_kept)
          failures_.emplace(r.seq, std::move(r));
        else
          ++failures_dropped_;
      }
      if (bar_) bar_->update(finished_, totals_.failed, slots_.running() - (slot ? 1 : 0));
    }
    if (now)
      halt_now();
    else if (soon)
      stop_starting();
  }

  // Under results_mutex_.
  void check_halt(const job_record& r, bool& now, bool& soon) {
    const halt_policy& h = options_.halt;
    if (h.timing == halt_policy::when::never || cause_.halt_status ||
        r.status == job_status::cancelled || r.status == job_status::skipped)
      return;
    const bool failed = r.status != job_status::succeeded;
    std::size_t count = 0;
    switch (h.trigger) {
      case halt_policy::on::fail:
        count = failed ? totals_.failed : 0;
        break;
      case halt_policy::on::success:
        count = failed ? 0 : totals_.succeeded;
        break;
      case halt_policy::on::done:
        count = finished_;
        break;
    }
    if (!h.reached(count, finished_, input_->total().value_or(0))) return;
    // GNU: the exit status of the job that triggered the halt (1 for one killed by a
    // timeout or a signal).
    cause_.halt_status = r.exit_code > 0 ? r.exit_code : (failed ? 1 : 0);
    (h.timing == halt_policy::when::now ? now : soon) = true;
  }

  const run_options& options_;
  std::size_t spawned_ = 0;  // main thread only
  command_template template_;
  std::unique_ptr<input_source> input_;
  running_jobs slots_;
  output_writer output_;
  std::optional<joblog_record> resume_from_;
  std::optional<joblog_writer> joblog_;
  std::optional<report_writer> report_;
  std::optional<progress_bar> bar_;
  std::optional<job_watchdog> watchdog_;

  std::mutex group_mutex_;
  std::atomic<cohort::task_group*> group_{nullptr};
  std::atomic<bool> halted_now_{false};
  // relaxed: an advisory "start no more"; slots_.close() is what stops the loop for sure.
  std::atomic<bool> stop_starting_{false};

  std::mutex results_mutex_;  // guards everything below, the joblog, the report, the bar
  run_totals totals_;
  std::size_t finished_ = 0;
  std::map<std::size_t, job_record> failures_;
  std::size_t failures_dropped_ = 0;
  stop_cause cause_;
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
  batch b(options, std::move(*tmpl), std::move(input));
  // Before the scheduler's threads exist, so they inherit the blocked signals.
  signal_watch signals([&](int sig) { b.on_signal(sig); });
  try {
    return b.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cohort-run: %s\n", e.what());
    return usage_error_status;
  }
}

}  // namespace cohort_run
