// SPDX-License-Identifier: Apache-2.0
#include "job_execution.hpp"

#include <cohort/cohort.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "direct_exec.hpp"

namespace cohort_run {
namespace {

using steady = std::chrono::steady_clock;

void write_file(const std::string& path, const spool& content) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr)
    throw std::runtime_error("--results: cannot write '" + path + "': " + std::strerror(errno));
  content.for_each_piece(
      [&](std::string_view piece) { std::fwrite(piece.data(), 1, piece.size(), f); });
  std::fclose(f);
}

std::string last_line_of(const std::string& text) {
  std::size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
  const auto start = text.find_last_of('\n', end == 0 ? 0 : end - 1);
  const std::size_t from = start == std::string::npos || end == 0 ? 0 : start + 1;
  return text.substr(from, std::min<std::size_t>(end - from, 300));
}

// exec'd directly; a script without a #! line (ENOEXEC) goes to /bin/sh as a shell would.
cohort::process_result run_direct(const std::vector<std::string>& argv, const std::string& command,
                                  cohort::process_options& po) {
  try {
    return cohort::run_process(argv, po);
  } catch (const std::system_error& e) {
    if (e.code() != std::errc::executable_format_error) throw;
  }
  return cohort::run_shell(command, po);
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
    const std::string what = "cohort-run: " + (argv ? (*argv)[0] : command) +
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

}  // namespace

std::string joined(const std::vector<std::string>& words) {
  std::string s;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) s += ' ';
    s += words[i];
  }
  return s;
}

void make_results_directory(const std::string& path) {
  if (::mkdir(path.c_str(), 0777) != 0 && errno != EEXIST)
    throw std::runtime_error("--results: cannot create '" + path + "': " + std::strerror(errno));
}

void write_results(const std::string& dir, const job_output& out) {
  const std::string job_dir = dir + "/" + std::to_string(out.seq);
  make_results_directory(job_dir);
  write_file(job_dir + "/stdout", out.out);
  write_file(job_dir + "/stderr", out.err);
}

executed_job execute_job(const run_options& options, std::size_t seq,
                         const std::vector<std::string>& input, std::string command,
                         const job_hooks& hooks) {
  executed_job job;
  job_record& r = job.record;
  job_output& out = job.output;
  r.seq = seq;
  r.command = command;
  out.seq = seq;
  if (options.tag) out.tag = joined(input);
  const bool stream_lines = hooks.lines && options.line_buffer && !options.keep_order;
  std::string pending[2];  // --line-buffer: the unfinished last line of stdout, stderr
  std::string err_tail;    // the end of stderr, for the failure summary

  cohort::process_options po;
  po.timeout = options.timeout;
  po.term_grace = options.term_grace;
  if (hooks.on_start) po.on_start = hooks.on_start;
  po.on_output = [&](std::string_view chunk, bool from_stderr) {
    if (from_stderr) {
      err_tail.append(chunk.size() > 512 ? chunk.substr(chunk.size() - 512) : chunk);
      if (err_tail.size() > 1024) err_tail.erase(0, err_tail.size() - 512);
    } else {
      r.stdout_bytes += chunk.size();
    }
    if (hooks.saw_output) hooks.saw_output(chunk);
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
    hooks.lines(out.tag, p, from_stderr);
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
    if (!failed || r.attempts >= options.retries || (hooks.stop_retrying && hooks.stop_retrying()))
      break;
  }
  for (int i = 0; i < 2; ++i)
    if (!pending[i].empty()) hooks.lines(out.tag, pending[i] + "\n", i == 1);
  r.last_stderr_line = last_line_of(err_tail);
  return job;
}

}  // namespace cohort_run
