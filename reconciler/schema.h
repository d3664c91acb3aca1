#pragma once
/// JSON Schema validation of manifest documents, straight on the YAML tree so
/// every error keeps its line and column. The schemas are schemas/*.schema.json
/// (draft-07), embedded at build time: the single source of truth for validity.

#include <string>
#include <string_view>
#include <vector>

#include "reconciler/yaml_tree.h"

#include "reconciler/diagnostics.h"

namespace hostform::schema {

struct EmbeddedSchema {
  std::string_view fileName;  ///< "bridge.schema.json"
  std::string_view text;
};

/// Generated from schemas/ by cmake/embed_schemas.cmake.
const std::vector<EmbeddedSchema>& embeddedSchemas();

/// What makes the embedded schemas unusable, one sentence each: invalid JSON, a
/// keyword the validator does not enforce, a dangling $ref, a bad pattern.
/// Empty when all is well. With any problem, validateDocument rejects every
/// document with an internal error rather than validate against a partial
/// schema. Parsed once, on first use, thread-safely.
const std::vector<std::string>& embeddedSchemaProblems();

using hostform::Locator;

/// Checks one manifest document: apiVersion, kind, and the kind's schema.
/// Appends one diagnostic per problem found (all of them, not only the first).
/// Never throws.
void validateDocument(const yaml::Node& doc, const Locator& where, Diagnostics& out);

/// Checks one value against a schema given as JSON text, which may $ref the
/// embedded schemas ("common.schema.json#/definitions/size"). For tests and
/// tools that exercise the validator itself; manifests go through
/// validateDocument. A schema the validator cannot enforce is reported as an
/// internal error. Never throws.
void validateValue(const yaml::Node& value, std::string_view schemaJson, const Locator& where, Diagnostics& out);

}  // namespace hostform::schema
