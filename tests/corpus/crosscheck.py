#!/usr/bin/env python3
"""Checks schemas/ with an independent validator, python3-jsonschema.

hostform validates manifests with its own C++ code walking the YAML tree, so
that errors keep their line and column. This script makes sure that code and
the schemas agree with a standard draft-07 implementation:

  * every schema is a valid draft-07 schema, every field in it has a
    description, and every `default` is valid against its field;
  * every document under examples/ validates against manifest.schema.json;
  * every document in tests/corpus/bad/ is rejected, except files marked
    `# jsonschema: accept`: those are problems only hostform's C++ side
    catches (formats, duplicate keys), and jsonschema must accept them, so
    the list of differences stays honest and complete.

Usage: crosscheck.py SOURCE_DIR
"""

import json
import pathlib
import re
import sys

import jsonschema
import yaml


# ---- YAML 1.2 core schema, as hostform reads YAML ---------------------------
# PyYAML implements YAML 1.1, where yes/no/on/off are booleans, 012 is octal,
# 1_000 is an integer, 2024-01-01 is a date and << merges mappings. Replace
# all its implicit resolvers with the four of the 1.2 core schema, which is
# what the C++ side implements.
class Yaml12Loader(yaml.SafeLoader):
    pass


Yaml12Loader.yaml_implicit_resolvers = {}
for tag, pattern, first in [
    ('tag:yaml.org,2002:bool', r'^(?:true|True|TRUE|false|False|FALSE)$', 'tTfF'),
    ('tag:yaml.org,2002:int', r'^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$', '-+0123456789'),
    ('tag:yaml.org,2002:float',
     r'^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?'
     r'|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$', '-+0123456789.'),
    ('tag:yaml.org,2002:null', r'^(?:~|null|Null|NULL|)$', ['~', 'n', 'N', '']),
]:
    Yaml12Loader.add_implicit_resolver(tag, re.compile(pattern), list(first))


def construct_int(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith('0o'):
        return int(text[2:], 8)
    if text.startswith('0x'):
        return int(text[2:], 16)
    return int(text, 10)


def construct_bool(loader, node):
    return loader.construct_scalar(node).lower() == 'true'


Yaml12Loader.add_constructor('tag:yaml.org,2002:int', construct_int)
Yaml12Loader.add_constructor('tag:yaml.org,2002:bool', construct_bool)


def documents(path):
    with open(path, encoding='utf-8') as f:
        return [d for d in yaml.load_all(f, Loader=Yaml12Loader) if d is not None]


# ---- schemas -----------------------------------------------------------------
def make_validator(schema_dir):
    """Returns the schemas by file name, and a function giving a Draft7Validator
    for the subschema at (file name, JSON pointer), in which relative $refs
    ("common.schema.json#/...") resolve to the files in schema_dir."""
    schemas = {p.name: json.loads(p.read_text(encoding='utf-8'))
               for p in sorted(schema_dir.glob('*.schema.json'))}
    base = schema_dir.resolve().as_uri() + '/'
    try:
        from referencing import Registry, Resource  # jsonschema >= 4.18
        from referencing.jsonschema import DRAFT7
        registry = Registry().with_resources(
            (base + name, Resource.from_contents(s, default_specification=DRAFT7))
            for name, s in schemas.items())

        def validator_for(name, pointer=''):
            return jsonschema.Draft7Validator({'$ref': f'{base}{name}#{pointer}'}, registry=registry)
    except ImportError:  # Debian 12's python3-jsonschema 4.10
        resolver = jsonschema.RefResolver(base, {}, store={base + n: s for n, s in schemas.items()})

        def validator_for(name, pointer=''):
            return jsonschema.Draft7Validator({'$ref': f'{base}{name}#{pointer}'}, resolver=resolver)
    return schemas, validator_for


def subschemas_with_defaults(schema, where=''):
    """(pointer, subschema) for every subschema that declares a default."""
    if isinstance(schema, dict):
        if 'default' in schema:
            yield where, schema
        for key, value in schema.items():
            if key in ('properties', 'definitions'):
                for name, sub in value.items():
                    yield from subschemas_with_defaults(sub, f'{where}/{key}/{name}')
            elif key in ('items', 'additionalProperties', 'propertyNames', 'if', 'then', 'else'):
                yield from subschemas_with_defaults(value, f'{where}/{key}')
            elif key in ('allOf', 'anyOf', 'oneOf'):
                for i, sub in enumerate(value):
                    yield from subschemas_with_defaults(sub, f'{where}/{key}/{i}')


def fields_without_description(schema, where=''):
    """Pointers of the fields (properties, list items, definitions) that lack
    a description: the reference documentation is generated from them.
    Conditions (if/then/else) only restate fields, so they are not walked."""
    if not isinstance(schema, dict):
        return
    for key in ('properties', 'definitions'):
        for name, sub in schema.get(key, {}).items():
            if isinstance(sub, dict) and 'description' not in sub:
                yield f'{where}/{key}/{name}'
            yield from fields_without_description(sub, f'{where}/{key}/{name}')
    for key in ('items', 'additionalProperties'):
        if isinstance(schema.get(key), dict):
            yield from fields_without_description(schema[key], f'{where}/{key}')


# ---- the checks ----------------------------------------------------------------
class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, name, detail=''):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f'FAIL {name}' + (f': {detail}' if detail else ''))


def check_schemas(schemas, validator_for, tally):
    for name, schema in schemas.items():
        try:
            jsonschema.Draft7Validator.check_schema(schema)
            tally.check(True, name)
        except jsonschema.SchemaError as e:
            tally.check(False, name, f'not a valid draft-07 schema: {e.message}')
        for where in fields_without_description(schema):
            tally.check(False, f'{name}#{where}', 'no description')
        for where, sub in subschemas_with_defaults(schema):
            errors = list(validator_for(name, where).iter_errors(sub['default']))
            tally.check(not errors, f'{name}#{where}/default',
                        '; '.join(e.message for e in errors))


def check_examples(source, manifest, tally):
    files = sorted((source / 'examples').rglob('*.yaml'))
    tally.check(bool(files), 'examples/', 'no example files found')
    for path in files:
        rel = path.relative_to(source)
        for i, doc in enumerate(documents(path)):
            errors = sorted(manifest.iter_errors(doc), key=lambda e: list(e.path))
            tally.check(not errors, f'{rel} document {i + 1}',
                        '; '.join(f'{"/".join(map(str, e.path))}: {e.message}' for e in errors))


def check_corpus(source, manifest, tally):
    files = sorted((source / 'tests' / 'corpus' / 'bad').glob('*.yaml'))
    tally.check(len(files) >= 45, 'tests/corpus/bad', f'only {len(files)} files')
    for path in files:
        rel = path.relative_to(source)
        text = path.read_text(encoding='utf-8')
        accept = re.search(r'^# jsonschema: accept\b', text, re.M) is not None
        tally.check(re.search(r'^# expect: ', text, re.M) is not None, str(rel), 'no "# expect:" line')
        try:
            docs = documents(path)
        except yaml.YAMLError as e:
            tally.check(False, str(rel), f'not loadable YAML: {e}')
            continue
        tally.check(bool(docs), str(rel), 'no document')
        for i, doc in enumerate(docs):
            name = f'{rel} document {i + 1}'
            rejected = next(manifest.iter_errors(doc), None) is not None
            if accept:
                tally.check(not rejected, name, 'marked "# jsonschema: accept" but jsonschema rejects it')
            else:
                tally.check(rejected, name, 'jsonschema accepts it, but hostform rejects it')


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    source = pathlib.Path(argv[1])
    schemas, validator_for = make_validator(source / 'schemas')
    manifest = validator_for('manifest.schema.json')
    tally = Tally()
    check_schemas(schemas, validator_for, tally)
    check_examples(source, manifest, tally)
    check_corpus(source, manifest, tally)
    print(f'{tally.passed} passed, {tally.failed} failed')
    return 1 if tally.failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
