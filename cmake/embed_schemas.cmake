# Writes OUT, a C++ source holding every SCHEMA_DIR/*.schema.json as a string,
# so the binary validates with exactly the schemas in the repository.
file(GLOB files ${SCHEMA_DIR}/*.schema.json)
list(SORT files)
set(body "#include \"reconciler/schema.h\"\n\nnamespace hostform::schema {\n\nconst std::vector<EmbeddedSchema>& embeddedSchemas() {\n  static const std::vector<EmbeddedSchema> schemas{\n")
foreach(f ${files})
  get_filename_component(name ${f} NAME)
  file(READ ${f} content)
  set(body "${body}      {\"${name}\", R\"hostform_schema(${content})hostform_schema\"},\n")
endforeach()
set(body "${body}  };\n  return schemas;\n}\n\n}  // namespace hostform::schema\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
