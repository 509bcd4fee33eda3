// The pending runs of one key (interface or server): a pure structure, no I/O.
//
// Rules (issue 4 "Post-tracking hooks"):
//  - transition runs are kept in order, at most |max_transitions| of them; when one more
//    arrives the oldest is dropped (the newest state is the one hooks must see);
//  - at most one periodic run is pending, always last, carrying the latest variables: a
//    periodic request replaces a pending periodic one (coalesced);
//  - a transition request discards a pending periodic one: the transition run is a full
//    run with newer variables, so the periodic run would only repeat it.
#pragma once

#include "hooks/env.h"

#include <omrt/clock.h>

#include <cstdint>
#include <deque>

namespace hooks {

enum class RunKind : uint8_t { Transition, Periodic };
const char *run_kind_name(RunKind k);

struct Request {
    HookEnv env;
    RunKind kind = RunKind::Periodic;
    omrt::MonoUs queued_us = 0;
};

struct PushOutcome {
    bool coalesced = false;           // replaced a pending periodic request
    bool superseded_periodic = false; // a transition discarded a pending periodic request
    bool dropped_transition = false;  // the queue was full: the oldest transition was dropped
};

class KeyQueue {
public:
    explicit KeyQueue(unsigned max_transitions) : max_(max_transitions ? max_transitions : 1) {}

    PushOutcome push(Request r);
    bool empty() const { return q_.empty(); }
    size_t size() const { return q_.size(); }
    const Request &front() const { return q_.front(); }
    Request pop();
    void clear() { q_.clear(); }
    bool has_periodic() const { return !q_.empty() && q_.back().kind == RunKind::Periodic; }
    void set_max_transitions(unsigned n) { max_ = n ? n : 1; }

private:
    std::deque<Request> q_;
    unsigned max_;
};

} // namespace hooks
