// The rule table and profile_for(): every row cited and ordered, the 6.18 fold equal to the
// documented default profile, and version strings parsed as --kernel takes them.
#include <catch2/catch.hpp>

#include "sim/target.h"

using namespace execmap::sim;

TEST_CASE("every kernel rule is cited, and the rows are ordered by version", "[target]") {
  const auto& rules = kernel_rules();
  REQUIRE(!rules.empty());
  CHECK(rules.front().since == modelled_kernels().front());
  for (size_t i = 0; i < rules.size(); ++i) {
    const KernelRule& r = rules[i];
    INFO("row " << i << " (" << r.sets << ")");
    CHECK(std::string(r.sets).size() > 0);
    CHECK(std::string(r.what).size() > 10);
    // A source names a kernel file and function.
    CHECK(std::string(r.source).find(".c") != std::string::npos);
    CHECK(std::string(r.source).find("()") != std::string::npos);
    // The commit subject where it is known (the issue asks for it "where known").
    CHECK((std::string(r.commit).empty() || std::string(r.commit).size() > 10));
    if (i > 0) CHECK(rules[i - 1].since <= r.since);
    CHECK(!r.arches.empty());
    bool modelled = false;
    for (KernelVersion v : modelled_kernels()) modelled |= v == r.since;
    CHECK(modelled);
  }
}

TEST_CASE("profile_for(6.18) is the documented default profile", "[target]") {
  TargetKey key;
  key.kernel = {6, 18};
  KernelProfile p = profile_for(key), d = default_profile();
  CHECK(p.auxv_order == d.auxv_order);
  CHECK(p.vdso_block.size() == d.vdso_block.size());
  for (size_t i = 0; i < p.vdso_block.size() && i < d.vdso_block.size(); ++i) {
    CHECK(p.vdso_block[i].name == d.vdso_block[i].name);
    CHECK(p.vdso_block[i].size == d.vdso_block[i].size);
  }
  CHECK(p.vdso_text_offset == d.vdso_text_offset);
  CHECK(p.rseq_feature_size == d.rseq_feature_size);
  CHECK(p.rseq_align == d.rseq_align);
  CHECK(p.exe_bss_elf_load == d.exe_bss_elf_load);
  CHECK(p.exe_padzero_write_only == d.exe_padzero_write_only);
  CHECK(p.interp_bss_elf_load == d.interp_bss_elf_load);
  CHECK(p.static_pie_brk_always_moved == d.static_pie_brk_always_moved);
  CHECK(p.brk_gap_page == d.brk_gap_page);
  CHECK(p.brk_rnd_range == d.brk_rnd_range);
  CHECK(p.static_pie_align == d.static_pie_align);
  CHECK(p.first_map_noreplace == d.first_map_noreplace);
  CHECK(p.total_size_minmax == d.total_size_minmax);
  CHECK(p.vdso_above_stack == d.vdso_above_stack);
  CHECK(p.heap_name_inclusive == d.heap_name_inclusive);
  CHECK(p.thp_topdown_top == d.thp_topdown_top);
  CHECK(p.anon_thp_align == d.anon_thp_align);
  CHECK(p.file_thp_align == d.file_thp_align);
  CHECK(p.brk_merges_bss == d.brk_merges_bss);
  CHECK(p.phdr_table_max_page == d.phdr_table_max_page);
  CHECK(p.name == "linux-6.18-x86_64");
}

TEST_CASE("the modelled kernels differ where their rows say", "[target]") {
  auto at = [](unsigned major, unsigned minor) {
    TargetKey k;
    k.kernel = {major, minor};
    return profile_for(k);
  };
  CHECK(at(5, 10).auxv_order.size() == 19);  // no AT_MINSIGSTKSZ, no AT_RSEQ_*
  CHECK(at(6, 1).auxv_order.size() == 20);
  CHECK(at(6, 12).auxv_order.size() == 22);
  CHECK(at(6, 12).vdso_block.size() == 2);   // [vvar], [vdso]
  CHECK(at(6, 18).vdso_block.size() == 3);   // + [vvar_vclock]
  CHECK(at(7, 2).rseq_feature_size == 33);
  CHECK(at(7, 2).rseq_align == 64);
  CHECK(at(5, 10).brk_rnd_range == (32u << 20));
  CHECK(!at(5, 10).static_pie_align);
  CHECK(at(6, 1).static_pie_align);
  CHECK(at(6, 1).heap_name_inclusive);
  CHECK(!at(6, 12).heap_name_inclusive);
}

TEST_CASE("kernel versions parse as --kernel takes them", "[target]") {
  KernelVersion v;
  REQUIRE(parse_kernel_version("6.1.0-57-amd64", &v));
  CHECK(v == KernelVersion{6, 1});
  REQUIRE(parse_kernel_version("7.2", &v));
  CHECK(v == KernelVersion{7, 2});
  REQUIRE(parse_kernel_version("6.18.44-fc-v669", &v));
  CHECK(v == KernelVersion{6, 18});
  CHECK(!parse_kernel_version("six", &v));
  CHECK(!parse_kernel_version("6", &v));
  CHECK(!parse_kernel_version("6.x", &v));
  CHECK(!parse_kernel_version("", &v));
  KernelVersion out;
  bool exact = false;
  REQUIRE(nearest_modelled({6, 19}, &out, &exact));
  CHECK(out == KernelVersion{6, 18});
  CHECK(!exact);
  REQUIRE(nearest_modelled({6, 12}, &out, &exact));
  CHECK(exact);
  CHECK(!nearest_modelled({5, 4}, &out, &exact));
}
