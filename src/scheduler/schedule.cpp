#include "scheduler/schedule.h"

namespace grove::sched {

const OpSlot* Schedule::op(const std::string& name) const {
  for (const OpSlot& o : ops)
    if (o.name == name) return &o;
  return nullptr;
}

int Schedule::role_of(const std::string& name) const {
  const OpSlot* o = op(name);
  return o ? o->role : -1;
}

const Buffer* Schedule::buffer(const std::string& value) const {
  for (const Buffer& b : buffers)
    if (b.value == value) return &b;
  return nullptr;
}

int Schedule::consumer_roles() const {
  int n = 0;
  for (const Role& r : roles) n += r.kind == "consumer";
  return n;
}

int Schedule::producer_roles() const {
  int n = 0;
  for (const Role& r : roles) n += r.kind == "producer";
  return n;
}

} // namespace grove::sched
