// SPDX-License-Identifier: Apache-2.0
#include "joblog.hpp"

#include <sys/stat.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace cohort_run {

joblog_writer::joblog_writer(const std::string& path, bool append) {
  struct stat st {};
  const bool exists_nonempty = ::stat(path.c_str(), &st) == 0 && st.st_size > 0;
  file_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (file_ == nullptr)
    throw std::runtime_error("--joblog: cannot open '" + path + "': " + std::strerror(errno));
  if (!append || !exists_nonempty)
    std::fputs("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n",
               file_);
  std::fflush(file_);
}

joblog_writer::~joblog_writer() {
  std::fclose(file_);
}

void joblog_writer::write(const joblog_entry& e) {
  // The command on one line, as GNU parallel writes it.
  std::string command = e.command;
  for (char& c : command)
    if (c == '\n') c = ' ';
  std::fprintf(file_, "%zu\t%s\t%.3f\t%10.3f\t0\t%zu\t%d\t%d\t%s\n", e.seq, e.host.c_str(),
               e.start_epoch_s, e.runtime_s, e.received, e.exit_value, e.signal, command.c_str());
  // Flushed per line: a killed cohort-run leaves a log that --resume can trust.
  std::fflush(file_);
}

void joblog_writer::flush() {
  std::fflush(file_);
}

joblog_record joblog_record::read(const std::string& path) {
  joblog_record r;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    // Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
    const char* p = line.c_str();
    char* end = nullptr;
    const unsigned long seq = std::strtoul(p, &end, 10);
    if (end == p || *end != '\t') continue;  // the header, or garbage
    std::size_t field = 0;
    const char* fields[9] = {};
    const char* q = p;
    fields[field++] = q;
    while (field < 9 && (q = std::strchr(q, '\t')) != nullptr) fields[field++] = ++q;
    if (field < 8) continue;
    const long exit_value = std::strtol(fields[6], nullptr, 10);
    const long signal = std::strtol(fields[7], nullptr, 10);
    if (seq >= r.states_.size()) r.states_.resize(seq + 1, state::absent);
    const state s = exit_value == 0 && signal == 0 ? state::succeeded : state::failed;
    if (r.states_[seq] != state::succeeded) r.states_[seq] = s;
  }
  return r;
}

}  // namespace cohort_run
