// SPDX-License-Identifier: Apache-2.0
// dump(): the live groups and tasks of a scheduler as a tree, with who waits on whom.
// Meant for a human who wonders why the program "just sits there".
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "observe/blocked.hpp"
#include "observe/stats.hpp"
#include "pool.hpp"

namespace cohort::detail {
namespace {

std::string seconds_since(std::int64_t since_ns, std::int64_t now_ns) {
  if (since_ns == 0) return {};
  char buf[48];
  std::snprintf(buf, sizeof buf, " for %.2f s", static_cast<double>(now_ns - since_ns) / 1e9);
  return buf;
}

// For a wait on the first of several (wait, as_completed): the dump names one of them.
std::string any_of(std::size_t keys) {
  return keys > 1 ? "any of " + std::to_string(keys) + ", e.g. " : std::string();
}

std::string quoted(const std::string& name, const char* fallback) {
  return name.empty() ? std::string(fallback) : "'" + name + "'";
}

struct worker_view {
  std::size_t index;
  std::string label;  // "worker 3 (render-3)", "outside thread 0 (render-outside-0)"
  std::vector<activity_frame> stack;  // outermost first; empty when idle
  std::size_t hidden;                 // jobs deeper than the activity record keeps
  bool parked;
};

struct group_view {
  const void* address;
  const void* join_key;
  std::string name;
};

}  // namespace

std::string render_dump(pool& p) {
  const std::int64_t now = steady_now_ns();
  std::vector<worker_view> workers;
  p.for_each_worker([&](worker& wk) {
    worker_activity& a = wk.activity;
    worker_view v{wk.index(), wk.label(), {}, 0, a.parked.load(std::memory_order_relaxed)};
    v.stack = a.load_stack(v.hidden);
    // An outside thread's slot is shown only while its thread runs something there.
    if (wk.outside() && v.stack.empty()) return;
    workers.push_back(std::move(v));
  });
  const std::vector<blocked_thread> blocked = blocked_threads();

  std::ostringstream out;
  std::vector<group_view> groups;
  std::ostringstream group_text;
  p.for_each_live_group([&](group_core& g) {
    groups.push_back({&g, g.join_key(), g.name()});
    // Children not yet counted down. Some may have ended on a thread's join credit and
    // wait for its next step (lib/join_credit.hpp): a worker settles after each job once
    // it holds worker::max_credit (a child that runs siblings inline may add more while
    // it runs), a joiner once it stops running its own children.
    const std::size_t unfinished = g.unfinished();
    if (g.detached_root() && unfinished == 0) return;
    const bool age_known = g.created() != std::chrono::steady_clock::time_point{};
    const double age =
        age_known
            ? std::chrono::duration<double>(std::chrono::steady_clock::now() - g.created()).count()
            : 0;
    group_text << "  group " << quoted(g.name(), "(unnamed)") << ": " << g.spawned() << " spawned, "
               << unfinished << " unfinished, " << g.failure_count() << " failed"
               << (g.cancelled() ? ", cancelled" : "");
    if (age_known) group_text << "; age " << static_cast<int>(age * 100) / 100.0 << " s";
    group_text << "\n";
    for (const worker_view& v : workers)
      for (std::size_t k = 0; k < v.stack.size(); ++k) {
        const activity_frame& f = v.stack[k];
        if (f.kind != job_kind::child || f.group != &g) continue;
        const bool innermost = k + 1 == v.stack.size();
        group_text << "    task " << quoted(f.name, "") << (f.name.empty() ? "" : " ") << "#"
                   << f.index << ": " << (innermost ? "running" : "suspended in a wait") << " on "
                   << v.label << seconds_since(f.since_ns, now) << "\n";
      }
    for (const worker_view& v : workers)
      for (const activity_frame& f : v.stack)
        if (f.waiting_on == g.join_key())
          group_text << "    joined by " << v.label << seconds_since(f.waiting_since_ns, now)
                     << "\n";
    for (const blocked_thread& b : blocked)
      if (b.key == g.join_key())
        group_text << "    joined by thread '" << b.thread_name << "' (tid " << b.tid
                   << "), blocked" << seconds_since(b.since_ns, now) << "\n";
  });

  // What a parking key stands for, from what we know is alive.
  auto describe_key = [&](const void* key) -> std::string {
    for (const group_view& g : groups)
      if (g.join_key == key) return "join of group " + quoted(g.name, "(unnamed)");
    for (const worker_view& v : workers)
      for (const activity_frame& f : v.stack)
        if (f.task_key == key) {
          std::string group = "(unnamed)";
          for (const group_view& g : groups)
            if (g.address == f.group) group = quoted(g.name, "(unnamed)");
          return "task " + (f.name.empty() ? "" : "'" + f.name + "' ") + "#" +
                 std::to_string(f.index) + " of group " + group + ", running on " + v.label;
        }
    return "a task that is not running (queued, or between steps)";
  };

  out << "scheduler '" << p.name() << "': " << p.size() << " workers";
  if (p.thread_count() > p.size())
    out << " (+" << p.thread_count() - p.size() << " spare threads for blocked ones)";
  out << ", " << p.detached().unfinished() << " detached tasks pending\n";
  out << "groups:\n" << (group_text.str().empty() ? "  (none)\n" : group_text.str());
  out << "workers:\n";
  auto describe_job = [&](const activity_frame& f) {
    std::ostringstream o;
    if (f.kind == job_kind::child) {
      std::string group = "(unnamed)";
      for (const group_view& g : groups)
        if (g.address == f.group) group = quoted(g.name, "(unnamed)");
      o << "task " << (f.name.empty() ? "" : "'" + f.name + "' ") << "#" << f.index << " of group "
        << group;
    } else if (f.kind == job_kind::range_part && !f.name.empty()) {
      o << "loop piece '" << f.name << "'";  // "name[lo,hi)" of a parallel algorithm
    } else {
      o << "a "
        << (f.kind == job_kind::pool_entry   ? "call from outside the pool"
            : f.kind == job_kind::range_part ? "gather(range) part"
                                             : "gather child");
    }
    o << seconds_since(f.since_ns, now);
    return o.str();
  };
  // Each worker's stack of jobs, outermost first: a job that waits runs the next one
  // inside its wait, so a hang reads top-down as "A waits on X; inside it B waits on Y".
  for (const worker_view& v : workers) {
    out << "  " << v.label << (v.index >= p.size() && v.index < p.capacity() ? " [spare]" : "")
        << ": ";
    if (v.stack.empty()) {
      out << (v.parked ? "idle, parked" : "idle, looking for work") << "\n";
      continue;
    }
    out << "\n";
    for (std::size_t k = 0; k < v.stack.size(); ++k) {
      const activity_frame& f = v.stack[k];
      const std::string indent(4 + 2 * k, ' ');
      out << indent << (k == 0 ? "running " : "inside it, running ") << describe_job(f) << "\n";
      if (f.waiting_on != nullptr) {
        const bool innermost = k + 1 == v.stack.size();
        out << indent << "  waiting on " << any_of(f.waiting_keys) << describe_key(f.waiting_on)
            << seconds_since(f.waiting_since_ns, now)
            << (innermost ? (v.parked ? " (blocked; another thread took its place)" : "")
                          : " (running what it may meanwhile)")
            << "\n";
      }
    }
    if (v.hidden != 0) out << "    (" << v.hidden << " more nested jobs not recorded)\n";
  }
  if (!blocked.empty()) {
    out << "threads blocked outside the pool:\n";
    for (const blocked_thread& b : blocked)
      out << "  thread '" << b.thread_name << "' (tid " << b.tid << "): waiting on "
          << any_of(b.keys) << describe_key(b.key) << seconds_since(b.since_ns, now) << "\n";
  }
  return out.str();
}

}  // namespace cohort::detail
