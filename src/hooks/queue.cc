#include "hooks/queue.h"

#include <utility>

namespace hooks {

const char *run_kind_name(RunKind k)
{
    return k == RunKind::Transition ? "transition" : "periodic";
}

PushOutcome KeyQueue::push(Request r)
{
    PushOutcome out;
    if (r.kind == RunKind::Periodic) {
        if (has_periodic()) {
            q_.back() = std::move(r);
            out.coalesced = true;
        } else {
            q_.push_back(std::move(r));
        }
        return out;
    }
    if (has_periodic()) {
        q_.pop_back();
        out.superseded_periodic = true;
    }
    // Only transitions are left in the queue now.
    if (q_.size() >= max_) {
        q_.pop_front();
        out.dropped_transition = true;
    }
    q_.push_back(std::move(r));
    return out;
}

Request KeyQueue::pop()
{
    Request r = std::move(q_.front());
    q_.pop_front();
    return r;
}

} // namespace hooks
