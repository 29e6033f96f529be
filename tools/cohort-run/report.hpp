// SPDX-License-Identifier: Apache-2.0
// --report FILE: a JSON array with one object per job, written as jobs end (so a report
// of 10^6 jobs needs no memory), closed at exit. The jobs appear in the order they ended;
// each carries its "seq".
#pragma once

#include <cstdio>
#include <string>

#include "job_record.hpp"

namespace cohort_run {

class report_writer {
 public:
  explicit report_writer(const std::string& path);
  ~report_writer();  // closes the array
  report_writer(const report_writer&) = delete;
  report_writer& operator=(const report_writer&) = delete;
  void write(const job_record& r);  // not thread-safe: the caller serialises

 private:
  std::FILE* file_;
  bool first_ = true;
};

std::string json_string(const std::string& s);

}  // namespace cohort_run
