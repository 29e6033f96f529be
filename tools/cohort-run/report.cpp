// SPDX-License-Identifier: Apache-2.0
#include "report.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace cohort_run {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

report_writer::report_writer(const std::string& path) : file_(std::fopen(path.c_str(), "w")) {
  if (file_ == nullptr)
    throw std::runtime_error("--report: cannot open '" + path + "': " + std::strerror(errno));
  std::fputs("[", file_);
}

report_writer::~report_writer() {
  std::fputs(first_ ? "]\n" : "\n]\n", file_);
  std::fclose(file_);
}

void report_writer::write(const job_record& r) {
  using seconds = std::chrono::duration<double>;
  std::string input = "[";
  for (std::size_t i = 0; i < r.input.size(); ++i) {
    if (i > 0) input += ',';
    input += json_string(r.input[i]);
  }
  input += "]";
  const double start = seconds(r.start.time_since_epoch()).count();
  std::fprintf(
      file_,
      "%s\n {\"seq\": %zu, \"input\": %s, \"command\": %s, \"status\": \"%s\", \"exit_code\": %d, "
      "\"signal\": %d, \"start\": %.3f, \"runtime\": %.6f, \"user_cpu\": %.6f, \"system_cpu\": "
      "%.6f, "
      "\"max_rss_kb\": %ld, \"attempts\": %zu}",
      first_ ? "" : ",", r.seq, input.c_str(), json_string(r.command).c_str(), name_of(r.status),
      r.exit_code, r.signal, r.start.time_since_epoch().count() == 0 ? 0.0 : start,
      seconds(r.runtime).count(), seconds(r.user_cpu).count(), seconds(r.system_cpu).count(),
      r.max_rss_kb, r.attempts);
  first_ = false;
}

}  // namespace cohort_run
