// dump(): the live groups and tasks of a scheduler as a tree, with who waits on whom.
// Meant for a human who wonders why the program "just sits there".
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "blocked.hpp"
#include "pool.hpp"
#include "stats.hpp"

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
  activity_frame frame;
  std::string task_name;
  const void* waiting_on;
  std::int64_t waiting_since;
  std::size_t waiting_keys;
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
  for (std::size_t i = 0; i < p.size(); ++i) {
    worker_activity& a = p.worker_at(i).activity;
    workers.push_back({a.load(), a.name(), a.waiting_on.load(std::memory_order_relaxed),
                       a.waiting_since_ns.load(std::memory_order_relaxed),
                       a.waiting_keys.load(std::memory_order_relaxed),
                       a.parked.load(std::memory_order_relaxed)});
  }
  const std::vector<blocked_thread> blocked = blocked_threads();

  std::ostringstream out;
  std::vector<group_view> groups;
  std::ostringstream group_text;
  p.for_each_live_group([&](group_core& g) {
    groups.push_back({&g, g.join_key(), g.name()});
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
    for (std::size_t w = 0; w < workers.size(); ++w) {
      const worker_view& v = workers[w];
      if (!v.frame.running || v.frame.group != &g) continue;
      group_text << "    task " << quoted(v.task_name, "") << (v.task_name.empty() ? "" : " ")
                 << "#" << v.frame.index << ": running on worker " << w << " (" << p.name() << "-"
                 << w << ")" << seconds_since(v.frame.since_ns, now) << "\n";
    }
    for (std::size_t w = 0; w < workers.size(); ++w)
      if (workers[w].waiting_on == g.join_key())
        group_text << "    joined by worker " << w << " (" << p.name() << "-" << w << ")"
                   << seconds_since(workers[w].waiting_since, now) << "\n";
    for (const blocked_thread& b : blocked)
      if (b.key == g.join_key())
        group_text << "    joined by thread '" << b.thread_name << "' (tid " << b.tid
                   << "), blocked" << seconds_since(b.since_ns, now) << "\n";
  });

  // What a parking key stands for, from what we know is alive.
  auto describe_key = [&](const void* key) -> std::string {
    for (const group_view& g : groups)
      if (g.join_key == key) return "join of group " + quoted(g.name, "(unnamed)");
    for (std::size_t w = 0; w < workers.size(); ++w)
      if (workers[w].frame.running && workers[w].frame.task_key == key) {
        std::string group = "(unnamed)";
        for (const group_view& g : groups)
          if (g.address == workers[w].frame.group) group = quoted(g.name, "(unnamed)");
        return "task " + (workers[w].task_name.empty() ? "" : "'" + workers[w].task_name + "' ") +
               "#" + std::to_string(workers[w].frame.index) + " of group " + group +
               ", running on worker " + std::to_string(w);
      }
    return "a task that is not running (queued, or between steps)";
  };

  out << "scheduler '" << p.name() << "': " << p.size() << " workers, " << p.detached().unfinished()
      << " detached tasks pending\n";
  out << "groups:\n" << (group_text.str().empty() ? "  (none)\n" : group_text.str());
  out << "workers:\n";
  for (std::size_t w = 0; w < workers.size(); ++w) {
    const worker_view& v = workers[w];
    out << "  worker " << w << " (" << p.name() << "-" << w << "): ";
    if (!v.frame.running) {
      out << (v.parked ? "idle, parked" : "idle, looking for work");
    } else if (v.frame.kind == job_kind::child) {
      std::string group = "(unnamed)";
      for (const group_view& g : groups)
        if (g.address == v.frame.group) group = quoted(g.name, "(unnamed)");
      out << "running task " << (v.task_name.empty() ? "" : "'" + v.task_name + "' ") << "#"
          << v.frame.index << " of group " << group << seconds_since(v.frame.since_ns, now);
    } else {
      out << "running a "
          << (v.frame.kind == job_kind::pool_entry ? "call from outside the pool" : "gather child")
          << seconds_since(v.frame.since_ns, now);
    }
    if (v.waiting_on != nullptr)
      out << "; inside it, waiting on " << any_of(v.waiting_keys) << describe_key(v.waiting_on)
          << seconds_since(v.waiting_since, now)
          << (v.parked ? " (parked)" : " (running other tasks meanwhile)");
    out << "\n";
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
