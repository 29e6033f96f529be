// SPDX-License-Identifier: Apache-2.0
#include "observe/trace.hpp"

#include "worker.hpp"

#include <cstdio>
#include <fstream>

#include "observe/activity.hpp"

namespace cohort::detail {
namespace {

void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char c : s) {
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
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

tracer::tracer(std::size_t workers, std::size_t outside)
    : workers_(workers),
      lanes_(workers + outside),
      buffers_(new buffer[workers + outside]),
      origin_ns_(steady_now_ns()) {}

bool tracer::begin(std::size_t worker, const job* j) noexcept {
  buffer& b = buffers_[worker];
  try {
    event e{steady_now_ns(), 'B', describe_job(j), job_group_name(j)};
    std::lock_guard lock(b.mutex);
    b.events.push_back(std::move(e));
  } catch (...) {  // out of memory: this span is not recorded (nor its end)
    return false;
  }
  std::lock_guard lock(b.mutex);
  ++b.depth;
  return true;
}

bool tracer::begin(std::size_t worker, const char* name) noexcept {
  buffer& b = buffers_[worker];
  try {
    event e{steady_now_ns(), 'B', name, {}};
    std::lock_guard lock(b.mutex);
    b.events.push_back(std::move(e));
  } catch (...) {
    return false;
  }
  std::lock_guard lock(b.mutex);
  ++b.depth;
  return true;
}

void tracer::end(std::size_t worker) noexcept {
  buffer& b = buffers_[worker];
  std::lock_guard lock(b.mutex);
  if (b.depth == 0) return;  // its begin was written out before tracing restarted
  try {
    b.events.push_back({steady_now_ns(), 'E', {}, {}});
  } catch (...) {  // out of memory: write() closes the span at the end instead
    return;
  }
  --b.depth;
}

void tracer::instant(std::size_t worker, const char* what, std::size_t arg) noexcept {
  buffer& b = buffers_[worker];
  try {
    event e{steady_now_ns(), 'i', std::string(what) + " " + std::to_string(arg), {}};
    std::lock_guard lock(b.mutex);
    b.events.push_back(std::move(e));
  } catch (...) {  // out of memory: the event is dropped, never the job that caused it
  }
}

std::size_t tracer::event_count() const {
  std::size_t n = 0;
  for (std::size_t w = 0; w < lanes_; ++w) {
    std::lock_guard lock(buffers_[w].mutex);
    n += buffers_[w].events.size();
  }
  return n;
}

bool tracer::write(const std::string& path, const std::string& scheduler_name) const {
  std::string out = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  bool first = true;
  auto sep = [&] {
    if (!first) out += ",\n";
    first = false;
  };
  const std::int64_t now = steady_now_ns();
  for (std::size_t w = 0; w < lanes_; ++w) {
    std::lock_guard lock(buffers_[w].mutex);
    if (w >= workers_ && buffers_[w].events.empty()) continue;  // an outside slot never used
    sep();
    out += "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":" + std::to_string(w) +
           ",\"args\":{\"name\":";
    append_json_string(out, w < workers_
                                ? scheduler_name + "-" + std::to_string(w)
                                : scheduler_name + "-outside-" + std::to_string(w - workers_));
    out += "}}";
    for (const event& e : buffers_[w].events) {
      sep();
      char ts[64];
      std::snprintf(ts, sizeof ts, "%.3f", static_cast<double>(e.ts_ns - origin_ns_) / 1000.0);
      out += "{\"ph\":\"";
      out += e.phase;
      out += "\",\"pid\":1,\"tid\":" + std::to_string(w) + ",\"ts\":" + ts;
      if (e.phase != 'E') {
        out += ",\"name\":";
        append_json_string(out, e.name);
      }
      if (e.phase == 'i') out += ",\"s\":\"t\"";
      if (!e.group.empty()) {
        out += ",\"args\":{\"group\":";
        append_json_string(out, e.group);
        out += "}";
      }
      out += "}";
    }
    for (int d = 0; d < buffers_[w].depth; ++d) {  // close what is still running
      sep();
      char ts[64];
      std::snprintf(ts, sizeof ts, "%.3f", static_cast<double>(now - origin_ns_) / 1000.0);
      out += "{\"ph\":\"E\",\"pid\":1,\"tid\":" + std::to_string(w) + ",\"ts\":" + ts + "}";
    }
  }
  out += "\n]}\n";
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return false;
  f << out;
  return static_cast<bool>(f);
}

}  // namespace cohort::detail
