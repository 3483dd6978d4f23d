#include <duet/session/call_table.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <vector>

namespace {
struct fake_call {
  int tag = 0;
};
}  // namespace

TEST_CASE("a stored call is found by its id and ids are never 0", "[session]") {
  duet::call_table<fake_call> table(8);
  fake_call a{1}, b{2};
  const auto id_a = table.insert(a);
  const auto id_b = table.insert(b);
  CHECK(id_a != 0);
  CHECK(id_b != 0);
  CHECK(id_a != id_b);
  CHECK(table.find(id_a) == &a);
  CHECK(table.find(id_b) == &b);
  CHECK(table.size() == 2);
}

TEST_CASE("a taken id no longer matches: a late response cannot complete a newer call", "[session]") {
  duet::call_table<fake_call> table(1);
  fake_call old_call{1}, new_call{2};
  const auto old_id = table.insert(old_call);
  CHECK(table.take(old_id) == &old_call);
  const auto new_id = table.insert(new_call);  // the same slot, next generation
  CHECK(new_id != old_id);
  CHECK(table.take(old_id) == nullptr);
  CHECK(table.find(new_id) == &new_call);
}

TEST_CASE("a full table refuses new calls until one is taken", "[session]") {
  duet::call_table<fake_call> table(3);
  std::vector<fake_call> calls(4);
  std::vector<std::uint32_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(table.insert(calls[i]));
  CHECK(table.full());
  CHECK(table.insert(calls[3]) == 0);
  CHECK(table.take(ids[1]) == &calls[1]);
  CHECK(table.insert(calls[3]) != 0);
}

TEST_CASE("unknown and garbage ids find nothing", "[session]") {
  duet::call_table<fake_call> table(16);
  fake_call a;
  const auto id = table.insert(a);
  for (std::uint32_t garbage : {0u, 1u, id + 1, id ^ 0x80000000u, 0xffffffffu, 15u}) {
    if (garbage != id) CHECK(table.find(garbage) == nullptr);
  }
}

TEST_CASE("ids do not repeat for a long time even when one slot is reused over and over", "[session]") {
  duet::call_table<fake_call> table(4);
  fake_call a;
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 100000; ++i) {
    const auto id = table.insert(a);
    REQUIRE(id != 0);
    REQUIRE(seen.insert(id).second);
    REQUIRE(table.take(id) == &a);
  }
}

TEST_CASE("drain removes every call exactly once", "[session]") {
  duet::call_table<fake_call> table(8);
  std::vector<fake_call> calls(5);
  std::vector<std::uint32_t> ids;
  for (auto& c : calls) ids.push_back(table.insert(c));
  table.take(ids[2]);
  int visited = 0;
  table.drain([&](fake_call& c) {
    ++visited;
    CHECK(&c != &calls[2]);
  });
  CHECK(visited == 4);
  CHECK(table.empty());
  for (auto id : ids) CHECK(table.find(id) == nullptr);
}
