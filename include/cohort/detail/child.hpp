// SPDX-License-Identifier: Apache-2.0
// The typed block of a spawned child: header, then the result slot, then the callable,
// in one allocation from the block pool.
#pragma once

#include <exception>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include <cohort/detail/block_pool.hpp>
#include <cohort/detail/failure.hpp>
#include <cohort/detail/group_core.hpp>
#include <cohort/detail/stop.hpp>

namespace cohort::detail {

template <class R>
struct child_result : child_base {
  // The union needs user-provided special members when R is not trivial; the value's
  // lifetime is managed by has_value.
  child_result(group_core& g, const job_type* t, ops_fn o, bool with_handle) noexcept
      : child_base(g, t, o, with_handle) {}
  ~child_result() {}
  union {
    R value;
  };
  void destroy_value() noexcept {
    if (has_value) value.~R();
    has_value = false;
  }
};

template <>
struct child_result<void> : child_base {
  using child_base::child_base;
  void destroy_value() noexcept {}
};

template <class F, class R>
struct child_block final : child_result<R> {
  template <class G>
  child_block(group_core& g, G&& f, bool with_handle)
      : child_result<R>(g, &type, &ops, with_handle) {
    ::new (static_cast<void*>(&fn)) F(std::forward<G>(f));
  }
  ~child_block() {}

  union {
    F fn;  // destroyed as soon as the run ends (or is skipped): captures die early
  };

  static void run(job* j) noexcept {
    auto* self = static_cast<child_block*>(j);
    const std::uint64_t begin = child_begin(self);
    if (begin != child_skipped) {
      current_node_guard guard(self);
      // The outcome is read back from `error` by child_end (task_group.cpp), out of line.
      run_capturing(
          [self] {
            if constexpr (std::is_void_v<R>) {
              invoke_task(self->fn, self);
            } else {
              ::new (static_cast<void*>(std::addressof(self->value)))
                  R(invoke_task(self->fn, self));
              self->has_value = true;
            }
          },
          self->error);
    }
    self->fn.~F();
    child_end(self, begin);
  }

  static void ops(child_base* c, child_op op) noexcept {
    auto* self = static_cast<child_block*>(c);
    switch (op) {
      case child_op::destroy_result:
        self->destroy_value();
        break;
      case child_op::free_block:
        self->destroy_value();
        self->~child_block();
        if constexpr (alignof(child_block) > block_alignment) {
          ::operator delete (static_cast<void*>(self), std::align_val_t{alignof(child_block)});
        } else {
          free_block_of<sizeof(child_block)>(self);
        }
        break;
    }
  }

  static constexpr job_type type{&run, job_kind::child, &child_node};
};

template <class F>
using child_return_t = call_result_t<std::decay_t<F>>;

// Allocates and constructs the child; the caller submits it.
template <class F>
auto make_child(group_core& g, F&& f, std::string&& name, bool with_handle) {
  using Fn = std::decay_t<F>;
  using R = child_return_t<F>;
  using block = child_block<Fn, R>;
  constexpr bool over_aligned = alignof(block) > block_alignment;  // e.g. an alignas(64) result
  std::unique_ptr<std::string> owned_name;
  if (!name.empty()) owned_name = std::make_unique<std::string>(std::move(name));
  void* mem = over_aligned ? ::operator new (sizeof(block), std::align_val_t{alignof(block)})
                           : allocate_block_of<sizeof(block)>();
  block* b;
  try {
    b = ::new (mem) block(g, std::forward<F>(f), with_handle);
  } catch (...) {
    if constexpr (over_aligned) {
      ::operator delete (mem, std::align_val_t{alignof(block)});
    } else {
      free_block_of<sizeof(block)>(mem);
    }
    throw;
  }
  b->name = std::move(owned_name);
  return static_cast<child_result<R>*>(b);
}

}  // namespace cohort::detail
