// SPDX-License-Identifier: Apache-2.0
#include "options.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "duration.hpp"

namespace cohort_run {
namespace {

// A usage error that names its option.
struct usage_error : std::runtime_error {
  usage_error(const std::string& option, const std::string& why)
      : std::runtime_error(option + ": " + why) {}
};

// GNU's -j: N, +N / -N (relative to the cores), N% (of the cores); 0: as many as possible
// (here: 256, the cap on one run's threads).
std::size_t resolve_jobs(const std::string& text) {
  const long cores = std::max(1u, std::thread::hardware_concurrency());
  if (text.empty()) return static_cast<std::size_t>(cores);
  std::size_t used = 0;
  long n = 0;
  try {
    n = std::stol(text, &used);
  } catch (const std::exception&) {
    throw usage_error("-j/--jobs", "'" + text + "' is not a number of jobs (N, +N, -N or N%)");
  }
  const std::string rest = text.substr(used);
  long jobs = n;
  if (rest == "%")
    jobs = cores * n / 100;
  else if (!rest.empty())
    throw usage_error("-j/--jobs", "'" + text + "' is not a number of jobs (N, +N, -N or N%)");
  else if (text[0] == '+' || text[0] == '-')
    jobs = cores + n;
  else if (n == 0)
    jobs = 256;
  if (jobs < 1) jobs = 1;
  if (jobs > 4096) throw usage_error("-j/--jobs", "at most 4096 jobs at once");
  return static_cast<std::size_t>(jobs);
}

std::chrono::nanoseconds duration_of(const std::string& option, const std::string& text) {
  const auto d = parse_duration(text);
  if (!d) throw usage_error(option, "'" + text + "' is not a duration (e.g. 500ms, 30s, 5m, 1.5)");
  return *d;
}

std::vector<std::string> lines_of_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw usage_error("::::", "cannot read '" + path + "'");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Splits the words after the options into the command and the ::: / :::: sources.
void split_command_and_sources(const std::vector<std::string>& words, run_options& o) {
  std::size_t i = 0;
  for (; i < words.size() && words[i] != ":::" && words[i] != "::::"; ++i)
    o.command.push_back(words[i]);
  while (i < words.size()) {
    const bool files = words[i] == "::::";
    ++i;
    std::vector<std::string> source;
    for (; i < words.size() && words[i] != ":::" && words[i] != "::::"; ++i) {
      if (files)
        o.sources.push_back(lines_of_file(words[i]));  // each file is a source (GNU)
      else
        source.push_back(words[i]);
    }
    if (!files) o.sources.push_back(std::move(source));
  }
}

constexpr const char* footer =
    R"(Input: one job per ::: argument (per combination with several :::), per
line of a :::: file, else per line of stdin. No COMMAND: each input is a command.
Replacement strings: {} {1} {2}.. {.} {/} {//} {/.} {#} {%} (and {2.} {2/} ...);
none in COMMAND: the input is appended. Values are shell-quoted.
Exit status: 0 all succeeded; 1-100 the number of failed jobs; 101 more than
100 failed; under --halt the status of the job that triggered it; 128+N after
signal N; 255 bad usage.
Environment: COHORT_WATCHDOG=D prints the running jobs when nothing finished
for D; COHORT_TRACE=FILE writes a Chrome trace with one span per job.
)";

}  // namespace

std::optional<run_options> parse_command_line(int argc, char** argv, int& exit_status) {
  run_options o;
  CLI::App app(
      "cohort-run: run shell commands in parallel (GNU parallel-compatible options)\n"
      "  cohort-run [options] COMMAND ::: ARG... [::: ARG...]\n"
      "  cohort-run [options] COMMAND < inputs\n"
      "  cohort-run [options] < commands",
      "cohort-run");
  app.footer(footer);
  app.prefix_command();  // the first word that is not an option starts COMMAND
  app.set_version_flag("--version", "cohort-run " COHORT_RUN_VERSION);
  app.get_formatter()->column_width(26);

  std::string jobs_text, halt_text, timeout_text, deadline_text, grace_text;
  bool fail_fast = false;
  app.add_option("-j,--jobs", jobs_text, "at most N jobs at once (default: the cores)")
      ->type_name("N");
  app.add_flag("-k,--keep-order", o.keep_order, "output in input order");
  app.add_flag("--line-buffer,--lb", o.line_buffer, "pass output through line by line");
  app.add_flag("--tag", o.tag, "prefix output lines with the input and a tab");
  app.add_option("--halt,--halt-on-error", halt_text,
                 "never | now,fail=N | soon,fail=N | now,success=N | ...")
      ->type_name("SPEC");
  app.add_flag("--fail-fast", fail_fast, "the same as --halt now,fail=1");
  app.add_option("--timeout", timeout_text, "kill a job after D (500ms, 30s, 5m); it fails")
      ->type_name("D");
  app.add_option("--deadline", deadline_text, "for the whole batch: then as --halt now")
      ->type_name("D");
  app.add_option("--retries", o.retries, "run a failed job up to N times in all")
      ->check(CLI::Range(1, 1000000))
      ->type_name("N");
  app.add_option("--joblog", o.joblog, "GNU parallel's joblog")->type_name("FILE");
  app.add_flag("--resume", o.resume, "with --joblog: skip the jobs it lists");
  app.add_flag("--resume-failed", o.resume_failed,
               "with --joblog: skip the jobs it lists as succeeded");
  app.add_option("--results", o.results_dir, "stdout and stderr into DIR/<seq>/{stdout,stderr}")
      ->type_name("DIR");
  app.add_flag("--bar", o.bar, "progress bar on stderr");
  app.add_option("--report", o.report, "JSON report of every job")->type_name("FILE");
  app.add_flag("--dry-run", o.dry_run, "print the commands, run nothing");
  app.add_flag("-0,--null", o.null_separated, "inputs separated by NUL");
  app.add_flag("--mpi", o.mpi,
               "under mpirun -np N: rank 0 reads the input, every rank runs up to -j jobs");
  app.add_option("--term-grace", grace_text, "SIGTERM, then SIGKILL after D (default 2s)")
      ->type_name("D");

  try {
    app.parse(argc, argv);
    o.jobs = resolve_jobs(jobs_text);
    if (!halt_text.empty()) {
      std::string why;
      auto h = parse_halt(halt_text, why);
      if (!h) throw usage_error("--halt", "'" + halt_text + "': " + why);
      o.halt = *h;
    }
    if (fail_fast) {
      if (!halt_text.empty()) throw usage_error("--fail-fast", "conflicts with --halt");
      o.halt.timing = halt_policy::when::now;
      o.halt.trigger = halt_policy::on::fail;
      o.halt.threshold = 1;
    }
    if (!timeout_text.empty()) o.timeout = duration_of("--timeout", timeout_text);
    if (!deadline_text.empty()) o.deadline = duration_of("--deadline", deadline_text);
    if (!grace_text.empty()) o.term_grace = duration_of("--term-grace", grace_text);
#ifndef COHORT_RUN_WITH_MPI
    if (o.mpi)
      throw usage_error("--mpi",
                        "this cohort-run was built without MPI (cohort::mpi is built "
                        "when CMake finds an MPI implementation: COHORT_WITH_MPI)");
#endif
    if ((o.resume || o.resume_failed) && o.joblog.empty())
      throw usage_error(o.resume ? "--resume" : "--resume-failed", "needs --joblog FILE");
    if (o.resume && o.resume_failed)
      throw usage_error("--resume", "conflicts with --resume-failed");
    const std::vector<std::string> words = app.remaining();
    // CLI11 hands an unknown option over as the start of COMMAND; no command starts with '-'.
    if (!words.empty() && words[0].size() > 1 && words[0][0] == '-')
      throw usage_error(words[0], "unknown option");
    split_command_and_sources(words, o);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    exit_status = 0;
    return std::nullopt;
  } catch (const CLI::CallForVersion&) {
    std::puts("cohort-run " COHORT_RUN_VERSION);
    exit_status = 0;
    return std::nullopt;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cohort-run: %s\nTry 'cohort-run --help'.\n", e.what());
    exit_status = usage_error_status;
    return std::nullopt;
  }
  return o;
}

}  // namespace cohort_run
