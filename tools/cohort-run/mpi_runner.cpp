// SPDX-License-Identifier: Apache-2.0
#include "mpi_runner.hpp"

#include <cohort/cohort.hpp>
#include <cohort/mpi.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
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
#include <thread>
#include <vector>

#include "command_template.hpp"
#include "input.hpp"
#include "job_execution.hpp"
#include "job_ledger.hpp"
#include "output.hpp"
#include "runner.hpp"
#include "running_jobs.hpp"
#include "signal_watch.hpp"

namespace cohort_run {
namespace {

// The most of a remote job's stdout (and of its stderr) that travels to rank 0: the output
// goes in one message, in memory. Past it the rest is replaced by a note.
constexpr std::size_t remote_output_limit = std::size_t(512) << 20;

// ---- the bytes of a job (rank 0 -> the rank that runs it) and of its result (back) ------

class writer {
 public:
  void u64(std::uint64_t v) { bytes.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void text(std::string_view s) {
    u64(s.size());
    bytes.append(s);
  }
  std::string bytes;
};

class reader {
 public:
  explicit reader(const std::string& b) : bytes_(b) {}
  std::uint64_t u64() {
    need(sizeof(std::uint64_t));
    std::uint64_t v = 0;
    std::memcpy(&v, bytes_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  std::string text() {
    const std::size_t n = static_cast<std::size_t>(u64());
    need(n);
    std::string s = bytes_.substr(at_, n);
    at_ += n;
    return s;
  }

 private:
  void need(std::size_t n) const {
    if (at_ + n > bytes_.size()) throw std::runtime_error("--mpi: a truncated message");
  }
  const std::string& bytes_;
  std::size_t at_ = 0;
};

std::string encode_job(std::size_t seq, const std::vector<std::string>& args) {
  writer w;
  w.u64(seq);
  w.u64(args.size());
  for (const auto& a : args) w.text(a);
  return std::move(w.bytes);
}

void decode_job(const std::string& bytes, std::size_t& seq, std::vector<std::string>& args) {
  reader r(bytes);
  seq = static_cast<std::size_t>(r.u64());
  args.resize(static_cast<std::size_t>(r.u64()));
  for (auto& a : args) a = r.text();
}

void encode_spool(writer& w, const spool& s) {
  std::string text;
  text.reserve(std::min(s.size(), remote_output_limit));
  s.for_each_piece([&](std::string_view piece) {
    if (text.size() < remote_output_limit)
      text.append(piece.substr(0, remote_output_limit - text.size()));
  });
  if (s.size() > remote_output_limit)
    text += "\n[cohort-run --mpi: " + std::to_string(s.size() - remote_output_limit) +
            " more bytes of this job's output not sent]\n";
  w.text(text);
}

std::string encode_result(const executed_job& job, const std::string& host) {
  using std::chrono::duration_cast;
  using std::chrono::nanoseconds;
  const job_record& r = job.record;
  writer w;
  w.u64(r.seq);
  w.u64(static_cast<std::uint64_t>(r.status));
  w.i64(r.exit_code);
  w.i64(r.signal);
  w.i64(duration_cast<nanoseconds>(r.start.time_since_epoch()).count());
  w.i64(r.runtime.count());
  w.i64(r.user_cpu.count());
  w.i64(r.system_cpu.count());
  w.i64(r.max_rss_kb);
  w.u64(r.attempts);
  w.u64(r.stdout_bytes);
  w.text(r.command);
  w.text(r.last_stderr_line);
  w.text(host);
  encode_spool(w, job.output.out);
  encode_spool(w, job.output.err);
  return std::move(w.bytes);
}

executed_job decode_result(const std::string& bytes, std::string& host) {
  executed_job job;
  job_record& r = job.record;
  reader rd(bytes);
  r.seq = static_cast<std::size_t>(rd.u64());
  r.status = static_cast<job_status>(rd.u64());
  r.exit_code = static_cast<int>(rd.i64());
  r.signal = static_cast<int>(rd.i64());
  r.start = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(rd.i64())));
  r.runtime = std::chrono::nanoseconds(rd.i64());
  r.user_cpu = std::chrono::nanoseconds(rd.i64());
  r.system_cpu = std::chrono::nanoseconds(rd.i64());
  r.max_rss_kb = static_cast<long>(rd.i64());
  r.attempts = static_cast<std::size_t>(rd.u64());
  r.stdout_bytes = static_cast<std::size_t>(rd.u64());
  r.command = rd.text();
  r.last_stderr_line = rd.text();
  host = rd.text();
  job.output.seq = r.seq;
  job.output.out.append(rd.text());
  job.output.err.append(rd.text());
  return job;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "?";
  return name;
}

// How much finished output -k holds in memory before spilling (as without --mpi).
std::size_t keep_order_memory() {
  if (const char* v = std::getenv("COHORT_RUN_KEEP_ORDER_MEMORY"))
    if (const long long n = std::atoll(v); n > 0) return static_cast<std::size_t>(n);
  return std::size_t{64} << 20;
}

// ---- one rank's part of the batch -----------------------------------------------------

class mpi_batch {
 public:
  mpi_batch(const run_options& o, command_template tmpl, std::unique_ptr<input_source> input)
      : options_(o),
        template_(std::move(tmpl)),
        rank_(cohort::mpi::rank()),
        host_(host_name()),
        input_(std::move(input)),
        slots_(o.jobs),
        stream_(o.jobs,
                {.run = [this](std::uint64_t index,
                               std::string item) { start_job(index, std::move(item)); },
                 .finished = [this](std::uint64_t, int,
                                    std::string result) { job_finished(std::move(result)); },
                 .stopped = [this](std::uint64_t code) { stopped(code); }}) {
    if (rank_ == 0) {
      output_.emplace(o.keep_order, o.tag, keep_order_memory());
      ledger_.emplace(o, input_->total(), true);
      if (!o.results_dir.empty()) make_results_directory(o.results_dir);
    }
  }

  // From the signal thread: every rank stops; rank 0 exits with 128 + sig.
  void on_signal(int sig) {
    if (ledger_) ledger_->note_signal(sig);
    stop_reading();
    stream_.stop(static_cast<std::uint64_t>(sig));
  }

  int run() {
    // One worker per slot: each job's task waits in run_process (inside blocking()).
    cohort::scheduler pool({.workers = options_.jobs, .name = "cohort"});
    pool.set_watchdog(std::chrono::nanoseconds(0));
    task_group_.emplace(pool,
                        cohort::group_options{.on_failure = cohort::failure_policy::keep_going,
                                              .name = "cohort-run --mpi"});
    std::optional<std::jthread> reader, deadline;
    std::mutex deadline_mutex;
    std::condition_variable_any deadline_cv;
    if (rank_ == 0) {
      reader.emplace([this] { read_input(); });
      if (options_.deadline)
        deadline.emplace([&, limit = *options_.deadline](std::stop_token st) {
          std::unique_lock lock(deadline_mutex);
          if (!deadline_cv.wait_for(lock, st, limit, [] { return false; }) &&
              !st.stop_requested()) {
            ledger_->note_deadline();
            stop_reading();
            stream_.stop(0);
          }
        });
    }
    std::exception_ptr failure;
    try {
      stream_.run();  // this thread is the progress thread: the only one calling MPI
    } catch (...) {
      failure = std::current_exception();
      stream_.stop(0);
      stop_reading();
      task_group_->cancel();
    }
    task_group_->join();  // every job completed already; their tasks end now
    task_group_.reset();
    if (deadline) {
      deadline->request_stop();
      deadline->join();
    }
    if (reader) reader->join();
    if (failure) std::rethrow_exception(failure);
    if (rank_ != 0) return 0;
    ledger_->add_skipped(static_cast<std::size_t>(stream_.dropped()) + refused_);
    if (total_ && *total_ > read_) ledger_->add_skipped(*total_ - read_);
    output_->flush_held();
    return ledger_->finish();
  }

 private:
  // Rank 0, a thread of its own: the input is read as jobs are handed out (push waits
  // while 2 x the slots of all ranks wait), so an endless input runs in bounded memory.
  void read_input() {
    total_ = input_->total();
    std::vector<std::string> args;
    std::size_t seq = 0;
    while (!stop_reading_.load(std::memory_order_relaxed) && input_->next(args)) {
      ++seq;
      if (ledger_->skipped_by_resume(seq)) {
        job_record r;
        r.seq = seq;
        r.input = args;
        r.command = template_.render(args, seq, 0);
        r.status = job_status::skipped;
        output_->passed_over(seq);
        ledger_->record(std::move(r), 0);
        continue;
      }
      {
        std::lock_guard lock(inputs_mutex_);
        inputs_.emplace(seq, args);
      }
      if (!stream_.push(encode_job(seq, args))) {  // stopped meanwhile: never starts
        std::lock_guard lock(inputs_mutex_);
        inputs_.erase(seq);
        ++refused_;
        break;
      }
    }
    read_ = seq;
    stream_.close();
  }

  void stop_reading() {
    // Relaxed: advisory; interrupt() and the stream's refusal are what stop the reader.
    stop_reading_.store(true, std::memory_order_relaxed);
    input_->interrupt();
  }

  // Every rank, on the progress thread: a job handed to this rank. Its task completes it
  // with the stream, also when a stop skips it unstarted (the guard's destructor).
  void start_job(std::uint64_t index, std::string item) {
    auto job = std::make_shared<pending_job>(*this, index);
    decode_job(item, job->seq, job->args);
    task_group_->spawn([this, job] { run_job(*job); });
  }

  struct pending_job {
    pending_job(mpi_batch& b, std::uint64_t i) : batch(b), index(i) {}
    // Skipped by a stop before it started: rank 0 counts it as skipped.
    ~pending_job() {
      if (completed) return;
      executed_job skipped;
      skipped.record.seq = seq;
      skipped.record.status = job_status::skipped;
      skipped.output.seq = seq;
      batch.stream_.complete(index, encode_result(skipped, batch.host_));
    }
    pending_job(const pending_job&) = delete;
    pending_job& operator=(const pending_job&) = delete;
    mpi_batch& batch;
    std::uint64_t index;
    std::size_t seq = 0;
    std::vector<std::string> args;
    bool completed = false;
  };

  void run_job(pending_job& job) {
    // The stream hands this rank at most -j jobs at once, and a slot is released before
    // its job is completed, so a slot is free.
    const std::size_t slot = slots_.acquire();
    std::string command = template_.render(job.args, job.seq, slot);
    slots_.started(slot, job.seq, command);
    job_hooks hooks;
    hooks.on_start = [&](int pid) { slots_.set_pid(slot, pid); };
    hooks.stop_retrying = [this] { return stopping_.load(std::memory_order_relaxed); };
    std::string result;
    try {
      executed_job done = execute_job(options_, job.seq, job.args, std::move(command), hooks);
      result = encode_result(done, host_);
    } catch (...) {
      slots_.release(slot);
      throw;  // the pending_job's destructor completes it
    }
    slots_.release(slot);
    job.completed = true;
    stream_.complete(job.index, std::move(result));
  }

  // Rank 0, on the progress thread: a job ended on some rank.
  void job_finished(std::string result) {
    std::string host;
    executed_job job = decode_result(result, host);
    std::vector<std::string> input;
    {
      std::lock_guard lock(inputs_mutex_);
      if (auto it = inputs_.find(job.record.seq); it != inputs_.end()) {
        input = std::move(it->second);
        inputs_.erase(it);
      }
    }
    if (job.record.status == job_status::skipped) {
      output_->passed_over(job.record.seq);
    } else {
      if (options_.tag) job.output.tag = joined(input);
      if (!options_.results_dir.empty()) write_results(options_.results_dir, job.output);
      output_->finished(std::move(job.output));
    }
    if (!options_.report.empty()) job.record.input = std::move(input);
    std::size_t running = 0;
    {
      std::lock_guard lock(inputs_mutex_);
      running = inputs_.size();
    }
    const auto halt = ledger_->record(std::move(job.record), running, host);
    if (halt == job_ledger::halt_action::now) {
      stop_reading();
      stream_.stop(0);
    } else if (halt == job_ledger::halt_action::soon) {
      stopping_.store(true, std::memory_order_relaxed);
      stop_reading();
      stream_.close_and_drop();
    }
  }

  // Every rank, on the progress thread: the batch stops (a halt, the deadline, a signal
  // on some rank): the running jobs are killed (their process groups), no retry starts.
  void stopped(std::uint64_t code) {
    if (code != 0 && ledger_) ledger_->note_signal(static_cast<int>(code));
    stopping_.store(true, std::memory_order_relaxed);
    stop_reading();
    task_group_->cancel();
  }

  const run_options& options_;
  command_template template_;
  const int rank_;
  const std::string host_;
  std::unique_ptr<input_source> input_;
  running_jobs slots_;
  std::optional<output_writer> output_;  // rank 0
  std::optional<job_ledger> ledger_;     // rank 0
  std::optional<cohort::task_group> task_group_;
  // Relaxed: advisory flags; the stream and the group's cancel are what stop for sure.
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stop_reading_{false};
  // Rank 0: the input of each job handed out and not yet finished (--tag, the report).
  std::mutex inputs_mutex_;
  std::map<std::size_t, std::vector<std::string>> inputs_;
  // Rank 0's reader thread; read by run() after joining it.
  std::optional<std::size_t> total_;
  std::size_t read_ = 0, refused_ = 0;
  cohort::mpi::item_stream stream_;  // last: its handlers use the members above
};

}  // namespace

int run_batch_mpi(const run_options& options, int& argc, char**& argv) {
  if (options.line_buffer && !options.keep_order) {
    std::fprintf(stderr,
                 "cohort-run: --line-buffer: not supported with --mpi (a remote job's output "
                 "reaches rank 0 when the job ends)\n");
    return usage_error_status;
  }
  // Before MPI's and the scheduler's threads exist, so they inherit the blocked signals.
  signal_target<mpi_batch> target;
  signal_watch signals([&](int sig) { target.deliver(sig); });
  try {
    cohort::mpi::environment env(argc, argv);
    const int rank = cohort::mpi::rank();
    if (options.dry_run) return rank == 0 ? run_batch(options) : 0;
    // Only rank 0 reads the input; the others need its shape ({1}..{N}) to render commands.
    auto input = rank == 0 ? make_input(options.sources, 0, options.null_separated,
                                        options.bar && options.sources.empty())
                           : make_input(options.sources, -1, options.null_separated, false);
    std::string error;
    auto tmpl = command_template::compile(options.command, input->sources(), error);
    if (!tmpl) {  // every rank has the same command line, so every rank ends here
      if (rank == 0) std::fprintf(stderr, "cohort-run: %s\n", error.c_str());
      return usage_error_status;
    }
    mpi_batch b(options, std::move(*tmpl), std::move(input));
    const auto attached = target.attach(b);  // detached before b dies, however run() ends
    return b.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cohort-run: %s\n", e.what());
    return usage_error_status;
  }
}

}  // namespace cohort_run
