// SPDX-License-Identifier: Apache-2.0
// The torture test's programs: a tree of nodes (callables) built from a seed, and the
// rule that keeps every program legal (deadlock-free under any scheduling).
//
// A node runs in three phases:
//   1. it creates its groups (each on one of the program's schedulers, with a policy, an
//      optional max_concurrency and an optional deadline) and spawns their children; it
//      waits on nothing in this phase, so a handle it publishes is published soon;
//   2. it runs its actions in order: waits on handles (also polling inside
//      cohort::blocking()), gathers, with_timeout, race, wait/as_completed, cancels,
//      blocking outside cohort, sleeps;
//   3. it joins its groups in order (or, sometimes, leaves them to their destructors),
//      then returns its value or throws its own failure.
//
// Legality. Number the nodes in post-order, visiting each node's children in a random
// permutation (spawn order for the children of a max_concurrency group). Edges of the
// wait-for graph: a node waits on its own children (joins, gathers) and on the targets of
// its wait actions; a child of a limited group may wait for a slot held by an earlier
// sibling. Each of them goes from a higher post number to a lower one (children come
// before their parent; a wait target is chosen below the waiter; earlier siblings of a
// limited group come first), so the graph has no cycle. A target Y of node X is spawned by
// an ancestor of X (or X itself): that spawner has started, and its phase 1 waits on
// nothing, so Y's handle is published in bounded time. Blocking outside cohort waits on
// a semaphore that a task on a separate service scheduler releases (that scheduler runs
// nothing else), so it ends whatever the program's own workers do. Sleeps end by
// themselves.
//
// One wait outside cohort is released by the program itself (outside_waits), the shape
// lib/README.md allows ("Deadlock freedom"): the root runs on the main thread or on a
// pool thread of s0, and its only group G (on s0,
// unlimited, children taking stop tokens) has a child X that, first thing in phase 2,
// waits outside cohort (no cohort::blocking, so no spare thread comes) until a later-
// spawned sibling Y has started or X's stop token is triggered. The siblings spawned
// after Y are plain (no groups; only blocks, sleeps and spins), the root waits on nothing
// before it joins G (its actions are only blocks, sleeps, spins and cancels), and Y is
// never a cancel_task target. So Y runs: a worker took it, or the root's join, which runs
// its group's children from the top of main's slot, gets to it after the plain ones,
// which end by themselves; or G was cancelled, which X's stop token sees. With the root on
// a pool thread X may also be a later sibling, which the root's join runs first, blocking
// that thread with Y under it; then only the silent-block guard's spare runs Y. Y's post
// number is below X's, so the edge X -> Y keeps the graph acyclic. Where a thread's wait carried
// Y off to the injection queue (possible from a pool thread's deque, never from main's
// slot: worker::steal_in_wait), X's thread, blocked and uncounted, is found by the
// silent-block guard, and a spare takes Y.
//
// Hence every legal program ends on a correct scheduler with any number of workers; a
// hang is the scheduler's fault.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <cohort/options.hpp>

namespace torture {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

// Features the generator may use; COHORT_TORTURE_WITHOUT=<name,name> turns some off
// (to tell which shape a hang needs).
struct features {
  bool gather = true, range_gather = true, settled = true, limited = true, foreign = true;
  bool sibling_waits = true, block = true, cancel = true, fail = true, deadline = true;
  bool past_deadline = true, with_timeout = true, race = true, wait_any = true;
  bool stop_tokens = true, abandon = true;
  // Off: tasks on schedulers other than s0 wait on nothing (foreign work is leaves), which
  // rules out the hangs where s0's waiting worker strands a job that s1's task waits for.
  bool foreign_waits = true;
  // A child waits outside cohort for a later sibling that the root's join must still run
  // (see the legality note above).
  bool outside_waits = true;
  bool enable(const std::string& name, bool on);  // false: no such feature
  static std::string names();
};

inline bool features::enable(const std::string& name, bool on) {
  const std::pair<const char*, bool*> table[] = {{"gather", &gather},
                                                 {"range_gather", &range_gather},
                                                 {"settled", &settled},
                                                 {"limited", &limited},
                                                 {"foreign", &foreign},
                                                 {"sibling_waits", &sibling_waits},
                                                 {"block", &block},
                                                 {"cancel", &cancel},
                                                 {"fail", &fail},
                                                 {"deadline", &deadline},
                                                 {"past_deadline", &past_deadline},
                                                 {"with_timeout", &with_timeout},
                                                 {"race", &race},
                                                 {"wait_any", &wait_any},
                                                 {"stop_tokens", &stop_tokens},
                                                 {"abandon", &abandon},
                                                 {"foreign_waits", &foreign_waits},
                                                 {"outside_waits", &outside_waits}};
  for (auto& [n, p] : table)
    if (name == n) {
      *p = on;
      return true;
    }
  return false;
}

inline std::string features::names() {
  return "gather range_gather settled limited foreign sibling_waits block cancel fail deadline "
         "past_deadline with_timeout race wait_any stop_tokens abandon foreign_waits "
         "outside_waits";
}

enum class node_kind { root, spawned, element };  // element: of a gather, with_timeout, race

enum class action_kind {
  get,             // target.get(): value, its failure, or task_cancelled
  wait,            // target.wait()
  wait_for_loop,   // while (!target.wait_for(short)) {}
  wait_all,        // cohort::wait(std::tie(targets...)) all_completed
  wait_first,      // cohort::wait(..., first_completed), then as_completed over the same
  gather,          // cohort::gather(elements...) (2 or 3), maybe on another scheduler
  gather_settled,  // cohort::gather_settled(elements...) (2 or 3)
  gather_range,    // cohort::gather(ids, fn)
  with_timeout,    // cohort::with_timeout(d, element)
  race,            // cohort::race(elements...) (2 or 3)
  scope,           // cohort::scope(s, body spawning `group`'s children)
  block,           // acquire a semaphore a service task releases after `delay`
  sleep,           // sleep `delay` (in steps that watch the stop token, if any)
  spin,            // busy for `delay`
  cancel_task,     // target.cancel()
  cancel_group,    // cancel a group of an ancestor (node, group index)
  blocking_wait,   // cohort::blocking(poll until target.done()): a wait cohort cannot see,
                   // but counts (a spare takes the blocked worker's place)
};

struct group_spec {
  int owner = -1;  // node that creates and joins it
  int sched = 0;
  cohort::failure_policy policy = cohort::failure_policy::cancel_siblings;
  std::size_t max_concurrency = 0;
  bool has_deadline = false;
  nanoseconds deadline{0};
  bool stop_token_children = false;  // children take a std::stop_token
  std::vector<int> children;         // spawn order
};

struct action {
  action_kind kind = action_kind::sleep;
  std::vector<int> targets;                // nodes waited on or cancelled
  std::vector<int> elements;               // nodes run as elements (gather, with_timeout, race)
  int sched = -1;                          // -1: ambient; else gather/with_timeout/race on this one
  nanoseconds delay{0};                    // sleep, spin, block, with_timeout's deadline
  int group_owner = -1, group_index = -1;  // cancel_group; scope: index in node.scope_groups
};

struct node {
  int id = 0, parent = -1, depth = 0, post = 0;
  node_kind kind = node_kind::root;
  int sched = 0;                           // scheduler it runs on (for the root run from main: 0)
  int group_owner = -1, group_index = -1;  // spawned: which group (index into owner's groups)
  bool in_scope = false;                   // spawned into a scope action's group
  std::vector<group_spec> groups;
  std::vector<group_spec> scope_groups;  // groups of scope actions (joined by scope)
  std::vector<action> actions;
  bool fails = false;            // throws its own failure at the end
  bool fails_early = false;      // ... or right after phase 1 (its groups are abandoned)
  bool abandon_groups = false;   // phase 3 leaves the groups to their destructors
  bool observe_stop = false;     // a sleep that sees its stop token throws task_cancelled
  int waits_outside_for = -1;    // outside_waits: X, waiting outside cohort for Y's start
  bool releases_waiter = false;  // outside_waits: Y, which sets the flag X waits on first
  bool plain = false;            // outside_waits: spawned after Y; no groups, waits on nothing
  int value() const { return id * 31 + 7; }
};

struct program {
  std::uint64_t seed = 0;
  std::vector<std::size_t> workers;  // per scheduler
  bool root_as_task = false;         // root spawned on scheduler 0 from main, else run on main
  bool root_waited_timed = false;    // root_as_task: main waits with wait_for (runs nothing),
                                     // else joins (and may run the root or its children)
  bool biased = false;               // toward the shapes of issue 9's deadlocks (generator)
  bool may_cancel = false;           // any cancel source at all (failures, cancels, deadlines)
  // The schedulers get the silent-block guard (lib/silent_block.hpp): always when the
  // program needs it (an outside wait with the root on a pool thread), else at random.
  // Off, a program that needs none cannot have a hang ended late by it and go unseen.
  bool silent_block_guard = false;
  bool needs_silent_block_guard = false;
  std::vector<node> nodes;  // nodes[0] is the root
  std::string describe() const;
};

// ---- generation -------------------------------------------------------------------------

class generator {
 public:
  // bias: -1 at random (half the programs), 0 never, 1 always. A biased program prefers
  // what the hangs of issue 9 need: waits on siblings (same group), gathers in spawned
  // tasks, and joins of groups on other schedulers (a wait its own pushes cannot end).
  generator(std::uint64_t seed, const features& f, int forced_workers, int bias = -1)
      : rng_(seed * 0x9E3779B97F4A7C15ull + 12345),
        f_(f),
        forced_workers_(forced_workers),
        bias_(bias) {
    p_.seed = seed;
  }

  program build() {
    const int schedulers = f_.foreign ? 1 + static_cast<int>(pick(3)) : 1;
    for (int s = 0; s < schedulers; ++s)
      p_.workers.push_back(forced_workers_ > 0 ? std::size_t(forced_workers_) : 1 + pick(4));
    p_.root_as_task = chance(0.5);
    p_.root_waited_timed = p_.root_as_task && chance(0.5);
    p_.biased = bias_ < 0 ? chance(0.5) : bias_ > 0;
    budget_ = 6 + static_cast<int>(pick(28));
    // With the root on the main thread, G's children wait on main's slot, the one place
    // nothing takes a job from but to run it (lib/README.md, "Outside slots"). With the
    // root on a pool thread, Y may be handed to the injection queue by another thread's
    // wait, and only the silent-block guard (lib/silent_block.hpp) ends X's wait, tens of
    // milliseconds late: rarer, to keep the run short.
    outside_wait_ = f_.outside_waits && chance(p_.root_as_task ? 0.2 : 0.5);
    p_.nodes.push_back(node{});
    fill(0);
    number_post_order();
    choose_targets();
    if (outside_y_ >= 0) choose_outside_wait();
    bool outside_wait = false;
    for (const node& n : p_.nodes) outside_wait = outside_wait || n.waits_outside_for >= 0;
    p_.needs_silent_block_guard = outside_wait && p_.root_as_task;
    p_.silent_block_guard = chance(0.25) || p_.needs_silent_block_guard;
    for (const node& n : p_.nodes) {
      // A group left to its destructor cancels its children, too.
      if (n.fails || n.fails_early || n.abandon_groups) p_.may_cancel = true;
      for (auto* gs : {&n.groups, &n.scope_groups})
        for (const group_spec& g : *gs)
          if (g.has_deadline) p_.may_cancel = true;
      for (const action& a : n.actions)
        if (a.kind == action_kind::cancel_task || a.kind == action_kind::cancel_group ||
            a.kind == action_kind::with_timeout || a.kind == action_kind::race)
          p_.may_cancel = true;
    }
    return std::move(p_);
  }

 private:
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  int schedulers() const { return static_cast<int>(p_.workers.size()); }

  int other_sched(int own) {
    if (schedulers() == 1 || !chance(0.45)) return own;
    return static_cast<int>(pick(p_.workers.size()));
  }
  nanoseconds short_delay() {
    static constexpr long us[] = {0, 20, 50, 100, 200, 500, 1000, 2000};
    return microseconds(us[pick(std::size(us))]);
  }

  int add_node(int parent, node_kind kind, int sched) {
    node n;
    n.id = static_cast<int>(p_.nodes.size());
    n.parent = parent;
    n.depth = p_.nodes[parent].depth + 1;
    n.kind = kind;
    n.sched = sched;
    p_.nodes.push_back(std::move(n));
    --budget_;
    return p_.nodes.back().id;
  }

  group_spec make_group(int owner) {
    group_spec g;
    g.owner = owner;
    g.sched = other_sched(p_.nodes[owner].sched);
    if (p_.biased && owner != 0 && schedulers() > 1 && chance(0.5))  // a foreign join
      g.sched = (p_.nodes[owner].sched + 1 + static_cast<int>(pick(p_.workers.size() - 1))) %
                schedulers();
    if (!f_.foreign_waits && p_.nodes[owner].sched != 0) g.sched = p_.nodes[owner].sched;
    if (chance(0.3)) g.policy = cohort::failure_policy::keep_going;
    if (f_.limited && chance(0.3)) g.max_concurrency = 1 + pick(3);
    if (f_.deadline && chance(0.12)) {
      g.has_deadline = true;
      if (f_.past_deadline && chance(0.3))
        g.deadline = chance(0.5) ? nanoseconds(0) : -microseconds(100);
      else
        g.deadline = microseconds(100 + pick(3000));
    }
    g.stop_token_children = f_.stop_tokens && chance(0.5);
    return g;
  }

  void spawn_children(int owner, group_spec& g, bool scope_group, int index) {
    const std::size_t k = (p_.biased ? 2 : 1) + pick(4);
    for (std::size_t i = 0; i < k && budget_ > 0; ++i) {
      const int c = add_node(owner, node_kind::spawned, g.sched);
      p_.nodes[c].group_owner = owner;
      p_.nodes[c].group_index = index;
      p_.nodes[c].in_scope = scope_group;
      g.children.push_back(c);
    }
  }

  std::vector<int> elements(int owner, int sched, std::size_t k) {
    std::vector<int> out;
    for (std::size_t i = 0; i < k; ++i) out.push_back(add_node(owner, node_kind::element, sched));
    return out;
  }

  void fill(int id) {
    if (p_.nodes[id].plain) {
      for (std::size_t ai = pick(3); ai-- > 0;) p_.nodes[id].actions.push_back(waitless(false));
      return;
    }
    const int depth = p_.nodes[id].depth;
    const bool can_grow = depth < 4 && budget_ > 0;
    if (can_grow) {
      const bool shaped = id == 0 && outside_wait_;  // outside_waits: G is the only group
      const std::size_t groups = shaped ? 1 : id == 0 ? 1 + pick(2) : pick(3);
      for (std::size_t gi = 0; gi < groups && budget_ > 0; ++gi) {
        group_spec g = make_group(id);
        if (shaped) {
          g.sched = 0;
          g.max_concurrency = 0;
          g.stop_token_children = true;
        }
        spawn_children(id, g, false, static_cast<int>(gi));
        if (shaped && g.children.size() >= 2) {  // Y, and plain siblings after it
          const std::size_t y = 1 + pick(g.children.size() - 1);
          outside_y_ = g.children[y];
          for (std::size_t c = y + 1; c < g.children.size(); ++c)
            p_.nodes[g.children[c]].plain = true;
        }
        p_.nodes[id].groups.push_back(std::move(g));
      }
    }
    const std::size_t actions = pick(5);
    for (std::size_t ai = 0; ai < actions; ++ai) add_action(id, can_grow && budget_ > 0);
    node& n = p_.nodes[id];
    if (f_.fail && id != 0 && chance(0.12)) {
      n.fails = true;
      n.fails_early = f_.abandon && chance(0.2);
    }
    n.abandon_groups = f_.abandon && chance(0.08);
    n.observe_stop = f_.cancel && chance(0.3);
    // Children's own content last, so a node's ids come before its subtree's (readable).
    std::vector<int> kids;
    for (auto* gs : {&n.groups, &n.scope_groups})
      for (auto& g : *gs) kids.insert(kids.end(), g.children.begin(), g.children.end());
    for (auto& a : n.actions) kids.insert(kids.end(), a.elements.begin(), a.elements.end());
    for (int c : kids) fill(c);
  }

  void add_action(int id, bool can_grow) {
    action a;
    const int own = p_.nodes[id].sched;
    if (id == 0 && outside_wait_) {  // the root waits on nothing before it joins G
      p_.nodes[id].actions.push_back(waitless(true));
      return;
    }
    // Waits are the shapes that matter (sibling and foreign waits): weigh them high.
    std::size_t roll = pick(100);
    // Biased: a spawned node's first action is a wait or a gather half the time.
    if (p_.biased && p_.nodes[id].kind == node_kind::spawned && p_.nodes[id].actions.empty() &&
        chance(0.5))
      roll = chance(0.5) ? 0 : 35;
    const bool may_wait = f_.foreign_waits || own == 0;
    if (roll < 30 && f_.sibling_waits && may_wait) {
      const std::size_t k = pick(10);
      a.kind = k < 4   ? action_kind::get
               : k < 6 ? action_kind::wait
               : k < 7 ? action_kind::wait_for_loop
                       : (f_.wait_any ? (k < 8 ? action_kind::wait_all : action_kind::wait_first)
                                      : action_kind::get);
      if (f_.block && chance(0.15)) a.kind = action_kind::blocking_wait;
    } else if (roll < 48 && can_grow && (f_.gather || f_.range_gather || f_.settled)) {
      const std::size_t k = pick(3);
      a.kind = k == 0 && f_.gather         ? action_kind::gather
               : k == 1 && f_.range_gather ? action_kind::gather_range
               : k == 2 && f_.settled      ? action_kind::gather_settled
               : f_.gather                 ? action_kind::gather
                                           : action_kind::gather_range;
      a.sched = f_.foreign && chance(0.2) ? other_sched(own) : -1;
      const int s = a.sched < 0 ? own : a.sched;
      const std::size_t n = a.kind == action_kind::gather_range ? 1 + pick(6) : 2 + pick(2);
      a.elements = elements(id, s, n);
    } else if (roll < 55 && can_grow && f_.with_timeout) {
      a.kind = action_kind::with_timeout;
      a.delay = f_.past_deadline && chance(0.15)
                    ? (chance(0.5) ? nanoseconds(0) : -microseconds(50))
                    : microseconds(50 + pick(3000));
      a.elements = elements(id, own, 1);
    } else if (roll < 60 && can_grow && f_.race) {
      a.kind = action_kind::race;
      a.elements = elements(id, own, 2 + pick(2));
    } else if (roll < 66 && can_grow) {
      a.kind = action_kind::scope;
      group_spec g = make_group(id);
      g.has_deadline = false;  // scope() joins at once: a deadline adds nothing new here
      auto& sg = p_.nodes[id].scope_groups;
      a.group_index = static_cast<int>(sg.size());
      spawn_children(id, g, true, a.group_index);
      p_.nodes[id].scope_groups.push_back(std::move(g));
    } else if (roll < 74 && f_.block) {
      a.kind = action_kind::block;
      a.delay = short_delay();
    } else if (roll < 82) {
      a.kind = action_kind::sleep;
      a.delay = short_delay();
    } else if (roll < 88) {
      a.kind = action_kind::spin;
      a.delay = short_delay();
    } else if (roll < 94 && f_.cancel) {
      a.kind = action_kind::cancel_task;
    } else if (f_.cancel) {
      a.kind = action_kind::cancel_group;
    } else {
      a.kind = action_kind::sleep;
      a.delay = short_delay();
    }
    p_.nodes[id].actions.push_back(std::move(a));
  }

  // Post-order, children in a random permutation, except a limited group's children, which
  // keep spawn order among themselves (an earlier sibling may hold the slot a later one
  // needs).
  void number_post_order() {
    int next = 0;
    std::function<void(int)> visit = [&](int id) {
      node& n = p_.nodes[id];
      std::vector<int> kids;
      std::vector<std::vector<int>> ordered;  // limited groups: visited in spawn order
      for (auto* gs : {&n.groups, &n.scope_groups})
        for (auto& g : *gs) {
          if (g.max_concurrency != 0)
            ordered.push_back(g.children);
          else
            kids.insert(kids.end(), g.children.begin(), g.children.end());
        }
      for (auto& a : n.actions) kids.insert(kids.end(), a.elements.begin(), a.elements.end());
      std::shuffle(kids.begin(), kids.end(), rng_);
      // Interleave: the ordered chains keep their inner order at random positions.
      std::vector<int> seq;
      std::vector<std::size_t> pos(ordered.size(), 0);
      std::size_t left = kids.size();
      for (auto& o : ordered) left += o.size();
      std::size_t ki = 0;
      while (left-- > 0) {
        std::vector<int> choices;
        if (ki < kids.size()) choices.push_back(-1);
        for (std::size_t o = 0; o < ordered.size(); ++o)
          if (pos[o] < ordered[o].size()) choices.push_back(static_cast<int>(o));
        const int c = choices[pick(choices.size())];
        seq.push_back(c < 0 ? kids[ki++] : ordered[c][pos[c]++]);
      }
      for (int c : seq) visit(c);
      p_.nodes[id].post = next++;
    };
    visit(0);
  }

  bool is_ancestor(int a, int x) const {  // a is x or an ancestor of x
    for (int n = x; n >= 0; n = p_.nodes[n].parent)
      if (n == a) return true;
    return false;
  }

  // Nodes X may wait on: spawned (phase 1, not in a scope) by X or an ancestor of X, and
  // numbered below X.
  std::vector<int> wait_candidates(int x) const {
    std::vector<int> out;
    for (const node& y : p_.nodes)
      if (y.kind == node_kind::spawned && !y.in_scope && is_ancestor(y.group_owner, x) &&
          y.post < p_.nodes[x].post)
        out.push_back(y.id);
    return out;
  }

  void choose_targets() {
    for (node& x : p_.nodes) {
      const auto candidates = wait_candidates(x.id);
      std::vector<int> cancellable;  // any published handle: a cancel does not wait
      for (const node& y : p_.nodes)
        if (y.kind == node_kind::spawned && !y.in_scope && is_ancestor(y.group_owner, x.id) &&
            y.id != x.id && !is_ancestor(y.id, x.id))
          cancellable.push_back(y.id);
      for (action& a : x.actions) {
        switch (a.kind) {
          case action_kind::get:
          case action_kind::blocking_wait:
          case action_kind::wait:
          case action_kind::wait_for_loop:
          case action_kind::wait_all:
          case action_kind::wait_first: {
            const bool many = a.kind == action_kind::wait_all || a.kind == action_kind::wait_first;
            const std::size_t k = many ? 2 + pick(2) : 1;
            if (candidates.size() < (many ? 2u : 1u)) {  // nothing legal to wait on
              a.kind = action_kind::spin;
              a.delay = microseconds(20);
              break;
            }
            std::vector<int> c = candidates;
            std::shuffle(c.begin(), c.end(), rng_);
            if (p_.biased && chance(0.8))  // siblings first: same group as x or x's parent
              std::stable_partition(c.begin(), c.end(), [&](int y) {
                const node& yn = p_.nodes[y];
                for (int n = x.id; n >= 0; n = p_.nodes[n].parent)
                  if (p_.nodes[n].group_owner == yn.group_owner &&
                      p_.nodes[n].group_index == yn.group_index &&
                      p_.nodes[n].kind == node_kind::spawned)
                    return true;
                return false;
              });
            a.targets.assign(c.begin(), c.begin() + std::min(k, c.size()));
            break;
          }
          case action_kind::cancel_task:
            if (cancellable.empty()) {
              a.kind = action_kind::spin;
              a.delay = microseconds(20);
            } else {
              a.targets.push_back(cancellable[pick(cancellable.size())]);
            }
            break;
          case action_kind::cancel_group: {
            std::vector<std::pair<int, int>> gs;  // groups of ancestors (phase 1 ones)
            for (int n = x.id; n >= 0; n = p_.nodes[n].parent)
              for (std::size_t g = 0; g < p_.nodes[n].groups.size(); ++g)
                gs.emplace_back(n, static_cast<int>(g));
            if (gs.empty()) {
              a.kind = action_kind::spin;
              a.delay = microseconds(20);
            } else {
              std::tie(a.group_owner, a.group_index) = gs[pick(gs.size())];
            }
            break;
          }
          default:
            break;
        }
      }
    }
  }

  // outside_waits: an action that waits on nothing cohort runs (a block released by the
  // service scheduler, a sleep, a spin; with `cancels`, also a cancel, whose target
  // choose_targets picks).
  action waitless(bool cancels) {
    static constexpr action_kind kinds[] = {action_kind::block, action_kind::sleep,
                                            action_kind::spin, action_kind::cancel_task,
                                            action_kind::cancel_group};
    action a;
    a.kind = kinds[pick(cancels && f_.cancel ? 5 : 3)];
    if (a.kind == action_kind::block && !f_.block) a.kind = action_kind::spin;
    a.delay = short_delay();
    return a;
  }

  // outside_waits: X, a sibling of Y numbered above it: an earlier one, or, with the root
  // on a pool thread, also a later one. A later X is what the root's join pops (and runs)
  // first: its thread then blocks uncounted with Y under X on its own deque, which at 1
  // worker only a spare can take, and only the silent-block guard brings one (with
  // COHORT_SILENT_BLOCK_GUARD=0 such programs hang: the check that this test can fail).
  // Without a candidate the program keeps its shape but has no outside wait.
  void choose_outside_wait() {
    const int y = outside_y_;
    std::vector<int> xs;
    for (int c : p_.nodes[0].groups[0].children) {
      if (c == y) {
        if (!p_.root_as_task) break;  // earlier siblings only
        continue;
      }
      if (p_.nodes[c].post > p_.nodes[y].post) xs.push_back(c);
    }
    if (xs.empty()) return;
    const int x = xs[pick(xs.size())];
    p_.nodes[x].waits_outside_for = y;
    p_.nodes[y].releases_waiter = true;
    for (node& n : p_.nodes)  // a cancel of Y itself would leave X waiting
      for (action& a : n.actions)
        if (a.kind == action_kind::cancel_task && a.targets[0] == y) {
          a.kind = action_kind::spin;
          a.targets.clear();
          a.delay = microseconds(20);
        }
  }

  std::mt19937_64 rng_;
  features f_;
  int forced_workers_;
  int bias_;
  int budget_ = 0;
  bool outside_wait_ = false;  // outside_waits: shape the root (one group, waitless actions)
  int outside_y_ = -1;         // outside_waits: Y, once the root's group has two children
  program p_;
};

// ---- description (printed with a hang or a failed check) --------------------------------

inline const char* name_of(action_kind k) {
  static constexpr const char* names[] = {
      "get",          "wait",           "wait_for_loop", "wait_all",     "wait_first",
      "gather",       "gather_settled", "gather_range",  "with_timeout", "race",
      "scope",        "block",          "sleep",         "spin",         "cancel_task",
      "cancel_group", "blocking_wait"};
  return names[static_cast<int>(k)];
}

inline std::string program::describe() const {
  std::ostringstream o;
  o << "program seed " << seed << ": schedulers";
  for (std::size_t s = 0; s < workers.size(); ++s) o << " s" << s << "(" << workers[s] << "w)";
  o << "; root "
    << (root_as_task ? (root_waited_timed ? "spawned on s0, main waits timed" : "spawned on s0")
                     : "on the main thread")
    << (biased ? "; biased" : "")
    << (silent_block_guard ? "; silent-block guard on" : "; silent-block guard off") << "\n";
  auto group_line = [&](const group_spec& g, const char* what, std::size_t i, int indent) {
    o << std::string(indent, ' ') << what << i << " on s" << g.sched
      << (g.policy == cohort::failure_policy::keep_going ? " keep_going" : "");
    if (g.max_concurrency) o << " max_concurrency=" << g.max_concurrency;
    if (g.has_deadline) o << " cancel_after=" << g.deadline.count() << "ns";
    o << " children:";
    for (int c : g.children) o << " n" << c;
    o << "\n";
  };
  std::function<void(int, int)> show = [&](int id, int indent) {
    const node& n = nodes[id];
    o << std::string(indent, ' ') << "n" << id << " (post " << n.post << ", s" << n.sched
      << (n.kind == node_kind::element ? ", element" : "") << ")"
      << (n.fails ? (n.fails_early ? " FAILS EARLY" : " FAILS") : "")
      << (n.abandon_groups ? " abandons its groups" : "")
      << (n.observe_stop ? " observes stop" : "")
      << (n.releases_waiter ? " releases an outside waiter when it starts" : "")
      << (n.plain ? " plain" : "") << "\n";
    if (n.waits_outside_for >= 0)
      o << std::string(indent + 2, ' ') << "waits outside cohort for n" << n.waits_outside_for
        << " to start\n";
    for (std::size_t g = 0; g < n.groups.size(); ++g)
      group_line(n.groups[g], "group ", g, indent + 2);
    for (const action& a : n.actions) {
      o << std::string(indent + 2, ' ') << name_of(a.kind);
      for (int t : a.targets) o << " n" << t;
      for (int e : a.elements) o << " [n" << e << "]";
      if (a.sched >= 0) o << " on s" << a.sched;
      if (a.delay.count() != 0 || a.kind == action_kind::with_timeout)
        o << " " << a.delay.count() / 1000 << "us";
      if (a.kind == action_kind::cancel_group)
        o << " n" << a.group_owner << ".group" << a.group_index;
      if (a.kind == action_kind::scope)
        group_line(n.scope_groups[a.group_index], " scope", a.group_index, 0);
      else
        o << "\n";
    }
    std::vector<int> kids;
    for (auto* gs : {&n.groups, &n.scope_groups})
      for (auto& g : *gs) kids.insert(kids.end(), g.children.begin(), g.children.end());
    for (auto& a : n.actions) kids.insert(kids.end(), a.elements.begin(), a.elements.end());
    for (int c : kids) show(c, indent + 4);
  };
  show(0, 0);
  return o.str();
}

}  // namespace torture
