// libFuzzer target: any bytes as one manifest file, through everything
// `hostform validate` does (parse, limits, schema, decode, cross-references).
// Beyond "no crash, no leak, no undefined behaviour" (the sanitizers), one
// property: what loads without errors exports (`hostform export`'s writer) to
// text that loads again, to the same resources.
//
//   scripts/fuzz [SECONDS]          builds with clang and runs it (see there)

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "reconciler/loader.h"
#include "reconciler/manifest_writer.h"

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_load: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hostform;
  LoadResult loaded;
  loadText(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml", loaded);
  checkCrossReferences(loaded);
  for (const Diagnostic& d : loaded.diagnostics.items())
    if (d.str().size() > 4096) finding("a diagnostic longer than 4 KiB", d.str().substr(0, 512));
  if (loaded.diagnostics.hasErrors() || loaded.resources.empty()) return 0;

  const std::string exported = writeManifests(loaded.resources);
  LoadResult again;
  loadText(exported, "exported.yaml", again);
  checkCrossReferences(again);
  if (again.diagnostics.hasErrors())
    finding("export of a valid manifest does not load", again.diagnostics.items().front().str() + "\n" + exported);
  if (again.resources.size() != loaded.resources.size())
    finding("export changed the number of resources", exported);
  for (std::size_t i = 0; i < loaded.resources.size(); ++i)
    if (fields(again.resources[i]) != fields(loaded.resources[i]) || again.resources[i].id != loaded.resources[i].id)
      finding("export changed a resource", loaded.resources[i].id.str() + "\n" + exported);
  return 0;
}
