// SPDX-License-Identifier: Apache-2.0
#include "job_ledger.hpp"

#include <chrono>
#include <utility>

#include "output.hpp"

namespace cohort_run {
namespace {
// Failures kept for the summary; past this only a count (10^6 failures must not cost
// memory for lines nobody reads).
constexpr std::size_t failures_kept = 1000;
}  // namespace

job_ledger::job_ledger(const run_options& o, std::optional<std::size_t> total, bool in_input_order)
    : options_(o), total_(total), in_input_order_(in_input_order) {
  if (!o.joblog.empty()) {
    if (o.resume || o.resume_failed) resume_from_ = joblog_record::read(o.joblog);
    joblog_.emplace(o.joblog, o.resume || o.resume_failed);
  }
  if (!o.report.empty()) report_.emplace(o.report);
  if (o.bar) bar_.emplace(total);
}

bool job_ledger::skipped_by_resume(std::size_t seq) const {
  if (!resume_from_) return false;
  const auto s = resume_from_->of(seq);
  return options_.resume ? s != joblog_record::state::absent : s == joblog_record::state::succeeded;
}

job_ledger::halt_action job_ledger::record(job_record r, std::size_t running,
                                           const std::string& host) {
  std::lock_guard lock(mutex_);
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
  const halt_action halt = check_halt(r);
  if (bar_) bar_->update(finished_, totals_.failed, running);
  const bool keep_failure = r.status == job_status::failed || r.status == job_status::timed_out;
  if (!in_input_order_) {
    write_logs(r, host);
  } else {
    held_.emplace(r.seq, std::pair{keep_failure ? r : std::move(r), host});
    for (auto it = held_.begin(); it != held_.end() && it->first == next_seq_;
         it = held_.erase(it)) {
      write_logs(it->second.first, it->second.second);
      next_seq_ = it->first + 1;
    }
  }
  if (keep_failure) {
    if (failures_.size() < failures_kept)
      failures_.emplace(r.seq, std::move(r));
    else
      ++failures_dropped_;
  }
  return halt;
}

// A job killed by a halt did not finish: GNU parallel leaves it out of the joblog (so
// --resume runs it again).
void job_ledger::write_logs(const job_record& r, const std::string& host) {
  if (joblog_ && r.status != job_status::cancelled && r.status != job_status::skipped) {
    using seconds = std::chrono::duration<double>;
    joblog_->write({r.seq, seconds(r.start.time_since_epoch()).count(), seconds(r.runtime).count(),
                    r.stdout_bytes, r.exit_code, r.signal, r.command, host});
  }
  if (report_) report_->write(r);
}

job_ledger::halt_action job_ledger::check_halt(const job_record& r) {
  const halt_policy& h = options_.halt;
  if (h.timing == halt_policy::when::never || cause_.halt_status ||
      r.status == job_status::cancelled || r.status == job_status::skipped)
    return halt_action::none;
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
  if (!h.reached(count, finished_, total_.value_or(0))) return halt_action::none;
  // GNU: the exit status of the job that triggered the halt (1 for one killed by a
  // timeout or a signal).
  cause_.halt_status = r.exit_code > 0 ? r.exit_code : (failed ? 1 : 0);
  return h.timing == halt_policy::when::now ? halt_action::now : halt_action::soon;
}

void job_ledger::note_signal(int sig) {
  std::lock_guard lock(mutex_);
  if (cause_.signal == 0) cause_.signal = sig;
}

void job_ledger::note_deadline() {
  std::lock_guard lock(mutex_);
  cause_.deadline = true;
}

void job_ledger::add_skipped(std::size_t n) {
  std::lock_guard lock(mutex_);
  totals_.skipped += n;
}

std::size_t job_ledger::finished() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

int job_ledger::finish() {
  std::lock_guard lock(mutex_);  // the signal thread may still record a late signal
  for (auto& [seq, held] : held_) write_logs(held.first, held.second);  // gaps: never ran
  held_.clear();
  if (bar_) bar_->finish(finished_, totals_.failed);
  report_.reset();
  joblog_.reset();
  write_all(2, failure_summary(failures_, failures_dropped_, totals_));
  return exit_status(totals_, cause_);
}

}  // namespace cohort_run
