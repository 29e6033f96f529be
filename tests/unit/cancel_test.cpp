// SPDX-License-Identifier: Apache-2.0
// Cancellation state on its own (include/cohort/detail/cancel_node.hpp, lib/cancel_tree.hpp): the
// flag chain, the epoch that keeps scope nodes' cached answers honest, the descendant
// test behind "what a wait may run", the stop-source registry, and the walk guard a cut
// link waits out. Nodes are built by hand here; no scheduler runs.
#include "cancel_tree.hpp"

#include <cohort/detail/cancel_node.hpp>
#include <cohort/detail/job.hpp>
#include <cohort/detail/stop.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stop_token>
#include <thread>

#include "test_support.hpp"

namespace {

using cohort::detail::cancel_epoch;
using cohort::detail::cancel_node;
using cohort::detail::current_node;
using cohort::detail::current_node_guard;
using cohort::detail::descends_from;
using cohort::detail::job;
using cohort::detail::job_kind;
using cohort::detail::job_type;
using cohort::detail::may_run_inside;
using cohort::detail::scope_node;
using cohort::detail::stop_scope;
using cohort::detail::wait_out_walkers;
using cohort::detail::walk_guard;
using cohort_test::eventually;
using namespace std::chrono_literals;

TEST(cancel, a_request_reaches_every_node_below_and_none_beside_or_above) {
  cancel_node root(nullptr);
  cancel_node left(&root), right(&root);
  cancel_node left_child(&left);
  left.request();
  EXPECT_TRUE(left.cancelled());
  EXPECT_TRUE(left_child.cancelled());
  EXPECT_FALSE(left_child.requested()) << "requested() is the node's own flag only";
  EXPECT_FALSE(right.cancelled());
  EXPECT_FALSE(root.cancelled());
}

TEST(cancel, the_first_request_wins_and_every_request_bumps_the_epoch) {
  cancel_node n(nullptr);
  const auto before = cancel_epoch.load();
  EXPECT_TRUE(n.request());
  const auto after_first = cancel_epoch.load();
  EXPECT_GT(after_first, before);
  EXPECT_FALSE(n.request()) << "a second request must report the flag was set already";
  // The loser bumps too: a check after its call must not trust a cache from before.
  EXPECT_GT(cancel_epoch.load(), after_first);
}

TEST(cancel, a_scope_nodes_cached_answer_is_refreshed_by_a_later_cancel) {
  cancel_node root(nullptr);
  cancel_node middle(&root);
  scope_node scope(&middle);
  cancel_node leaf(&scope);
  cancel_node(nullptr).request();  // the epoch is non-zero: scope checks use the cache
  EXPECT_FALSE(leaf.cancelled());  // caches "not cancelled" at the current epoch
  EXPECT_FALSE(scope.cancelled());
  root.request();  // two levels above the scope
  EXPECT_TRUE(scope.cancelled()) << "a stale cached answer survived a cancel";
  EXPECT_TRUE(leaf.cancelled());
}

TEST(cancel, a_scope_node_requested_itself_is_cancelled_whatever_its_cache_says) {
  cancel_node root(nullptr);
  scope_node scope(&root);
  cancel_node(nullptr).request();
  EXPECT_FALSE(scope.cancelled());
  scope.request();
  EXPECT_TRUE(scope.cancelled());
  EXPECT_FALSE(root.cancelled());
}

TEST(cancel, a_cut_link_stops_the_cancel_from_reaching_below) {
  cancel_node creator(nullptr);
  scope_node group(&creator);
  group.parent.store(nullptr);  // what detach_groups_of does when the creator ends first
  creator.request();
  EXPECT_FALSE(group.cancelled());
}

TEST(cancel, descends_from_follows_the_chain_to_any_depth) {
  cancel_node root(nullptr);
  cancel_node a(&root);
  cancel_node b(&a);
  cancel_node c(&b);
  cancel_node d(&c);
  cancel_node stranger(nullptr);
  EXPECT_TRUE(descends_from(&a, &a)) << "a node descends from itself";
  EXPECT_TRUE(descends_from(&b, &a));
  EXPECT_TRUE(descends_from(&c, &a));
  EXPECT_TRUE(descends_from(&d, &root)) << "past the first two steps (the guarded walk)";
  EXPECT_FALSE(descends_from(&a, &b)) << "an ancestor is not a descendant";
  EXPECT_FALSE(descends_from(&d, &stranger));
  EXPECT_FALSE(descends_from(&stranger, &root));
  EXPECT_FALSE(descends_from(nullptr, &root));
  EXPECT_FALSE(descends_from(&d, nullptr));
}

// A job whose node the test chooses, as a child or a gather child would report it.
struct test_job : job {
  const cancel_node* node;
};
void run_nothing(job*) noexcept {}
const cancel_node* node_of(const job* j) noexcept {
  return static_cast<const test_job*>(j)->node;
}
constexpr job_type with_node{&run_nothing, job_kind::child, &node_of};
constexpr job_type without_node{&run_nothing, job_kind::pool_entry, nullptr};

TEST(cancel, a_wait_may_run_only_jobs_below_the_waiting_task) {
  cancel_node root(nullptr);
  cancel_node waiting(&root);
  cancel_node waiting_group(&waiting);
  cancel_node child(&waiting_group);
  cancel_node sibling(&root);
  test_job below{{&with_node}, &child};
  test_job beside{{&with_node}, &sibling};
  test_job above{{&with_node}, &root};
  test_job nodeless{{&without_node}, nullptr};
  EXPECT_TRUE(may_run_inside(&below, &waiting));
  EXPECT_FALSE(may_run_inside(&beside, &waiting)) << "a sibling's job could wait on us";
  EXPECT_FALSE(may_run_inside(&above, &waiting));
  EXPECT_FALSE(may_run_inside(&nodeless, &waiting)) << "a job without a node never runs inside";
}

TEST(cancel, a_stop_token_fires_when_its_node_or_an_ancestor_is_cancelled) {
  cancel_node root(nullptr);
  cancel_node left(&root), right(&root);
  cancel_node left_child(&left);
  stop_scope under_left(&left_child);
  stop_scope under_right(&right);
  EXPECT_FALSE(under_left.token().stop_requested());
  left.request();
  EXPECT_TRUE(under_left.token().stop_requested());
  EXPECT_FALSE(under_right.token().stop_requested()) << "a cancel stopped a stranger's token";
  root.request();
  EXPECT_TRUE(under_right.token().stop_requested());
}

TEST(cancel, a_stop_token_registered_under_a_cancelled_node_is_stopped_at_once) {
  cancel_node root(nullptr);
  cancel_node child(&root);
  root.request();
  stop_scope late(&child);
  EXPECT_TRUE(late.token().stop_requested());
}

TEST(cancel, an_unregistered_stop_source_is_left_alone) {
  cancel_node n(nullptr);
  std::stop_token token;
  {
    stop_scope scope(&n);
    token = scope.token();
  }
  n.request();  // must not reach the source of the ended scope
  EXPECT_FALSE(token.stop_requested());
}

TEST(cancel, a_stop_token_fires_when_cancelled_from_another_thread) {
  cancel_node root(nullptr);
  cancel_node child(&root);
  stop_scope scope(&child);
  std::thread canceller([&] { root.request(); });
  const bool stopped = eventually([&] { return scope.token().stop_requested(); });
  canceller.join();
  EXPECT_TRUE(stopped);
}

TEST(cancel, cutting_a_link_waits_out_every_walk_in_progress) {
  std::atomic<bool> walking{false}, release{false}, cut_done{false};
  std::thread walker([&] {
    walk_guard guard;
    walking = true;
    eventually([&] { return release.load(); });
  });
  ASSERT_TRUE(eventually([&] { return walking.load(); }));
  std::thread cutter([&] {
    wait_out_walkers();
    cut_done = true;
  });
  // A cutter that does not wait would be done long before this; a waiting one cannot be.
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(cut_done.load()) << "wait_out_walkers returned while a walk was in progress";
  release = true;
  EXPECT_TRUE(eventually([&] { return cut_done.load(); }));
  walker.join();
  cutter.join();
}

TEST(cancel, current_node_guard_sets_and_restores_the_running_node) {
  cancel_node outer(nullptr), inner(nullptr);
  ASSERT_EQ(current_node, nullptr);
  {
    current_node_guard a(&outer);
    EXPECT_EQ(current_node, &outer);
    {
      current_node_guard b(&inner);
      EXPECT_EQ(current_node, &inner);
    }
    EXPECT_EQ(current_node, &outer);
  }
  EXPECT_EQ(current_node, nullptr);
}

}  // namespace
