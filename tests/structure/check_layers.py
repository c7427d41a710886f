#!/usr/bin/env python3
"""Checks that the code keeps to the layer table declared in src/CMakeLists.txt.

The module graph is read from src/CMakeLists.txt at every run, never written down here:
each `portico_module(<name> DEPS ... PRIVATE_DEPS ...)` call declares a module, and the
`portico_<module>` names in its DEPS and PRIVATE_DEPS are the modules it depends on (other
names, such as portico_asio or yaml-cpp, are outside libraries and ignored). Every
`#include "portico/<module>/..."` in src/<name>/ and include/portico/<name>/ must name the module
itself or one of its declared dependencies. Dependencies are direct only: a module that includes
common must say `portico_common` even when a module it uses already depends on common, so the
table states every arrow and a dependency cannot appear silently through another one. The
sources of each `add_executable(<name> ...)` in src/CMakeLists.txt may include only the modules
its `target_link_libraries(<name> ...)` calls name. The check also fails when the declared graph
has a cycle, when a file includes a private header of another folder ("../"), and when a folder
under src/ or include/portico/ is not a declared module.

Why a test: every module compiles against the same include root and links its dependencies
PUBLIC, so the build accepts an include the table does not allow (docs/style.md, "Layers").

Usage: check_layers.py [--root DIR]   check the tree at DIR (default: this repository)
       check_layers.py --self-test    run the checker on small trees that must pass or fail
Exit status 0 when the tree keeps to its table, 1 when it does not, 2 on a usage error.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

SOURCE_SUFFIXES = (".hpp", ".h", ".cpp", ".cc", ".ipp", ".inl")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
PORTICO_INCLUDE_RE = re.compile(r"^portico/([^/]+)/")
COMMAND_RE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
LINK_KEYWORDS = {"PRIVATE", "PUBLIC", "INTERFACE", "LINK_PRIVATE", "LINK_PUBLIC",
                 "LINK_INTERFACE_LIBRARIES"}
EXECUTABLE_KEYWORDS = {"WIN32", "MACOSX_BUNDLE", "EXCLUDE_FROM_ALL"}


def strip_cmake_comments(text):
    """Removes `# ...` line comments (quoted strings kept) so commented-out calls do not count."""
    lines = []
    for line in text.splitlines():
        out, quoted = [], False
        for ch in line:
            if ch == '"':
                quoted = not quoted
            elif ch == "#" and not quoted:
                break
            out.append(ch)
        lines.append("".join(out))
    return "\n".join(lines)


def cmake_commands(text):
    """Yields (command name, argument list) for every command call in a CMake file."""
    text = strip_cmake_comments(text)
    pos = 0
    while True:
        match = COMMAND_RE.search(text, pos)
        if not match:
            return
        depth, i = 1, match.end()
        while i < len(text) and depth:
            if text[i] == "(":
                depth += 1
            elif text[i] == ")":
                depth -= 1
            i += 1
        args = [a.strip('"') for a in text[match.end():i - 1].split()]
        yield match.group(1), args
        pos = i


class Graph:
    """The modules and executables src/CMakeLists.txt declares, with their direct dependencies."""

    def __init__(self, cmake_text):
        raw_modules = []       # (name, [argument]) in declaration order
        self.executables = {}  # name -> [source]
        raw_links = {}         # target name -> [library]
        for name, args in cmake_commands(cmake_text):
            if name == "portico_module" and args:
                raw_modules.append((args[0], args[1:]))
            elif name == "add_executable" and args:
                self.executables[args[0]] = [a for a in args[1:] if a not in EXECUTABLE_KEYWORDS]
            elif name == "target_link_libraries" and args:
                raw_links.setdefault(args[0], []).extend(a for a in args[1:]
                                                         if a not in LINK_KEYWORDS)
        self.modules = {}  # name -> [module it depends on], declaration order
        for name, _ in raw_modules:
            self.modules[name] = []
        for name, args in raw_modules:
            self.modules[name].extend(m for m in self._module_names(args)
                                      if m not in self.modules[name])
        self.executable_links = {exe: self._module_names(raw_links.get(exe, []))
                                 for exe in self.executables}

    def _module_names(self, libraries):
        names = []
        for lib in libraries:
            if lib.startswith("portico_") and lib[len("portico_"):] in self.modules:
                names.append(lib[len("portico_"):])
        return names

    def cycles(self):
        """One cycle per strongly tied group, as a list of module names ending where it began."""
        found, state, stack = [], {}, []

        def visit(module):
            state[module] = "open"
            stack.append(module)
            for dep in self.modules[module]:
                if state.get(dep) == "open":
                    found.append(stack[stack.index(dep):] + [dep])
                elif dep not in state:
                    visit(dep)
            stack.pop()
            state[module] = "done"

        for module in self.modules:
            if module not in state:
                visit(module)
        return found


def source_files(folder):
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for filename in sorted(filenames):
            if filename.endswith(SOURCE_SUFFIXES):
                yield os.path.join(dirpath, filename)


def include_problems(root, path, owner, allowed):
    """Lines of `path` that include a module outside `allowed` or another folder's private file."""
    problems = []
    rel = os.path.relpath(path, root)
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            match = INCLUDE_RE.match(line)
            if not match:
                continue
            target = match.group(2)
            spelled = line.strip()
            module = PORTICO_INCLUDE_RE.match(target)
            if module and module.group(1) not in allowed:
                problems.append(f"{rel}:{number}: {spelled} ({owner} may use: "
                                f"{', '.join(allowed)})")
            elif match.group(1) == '"' and target.startswith("../"):
                problems.append(f"{rel}:{number}: {spelled} ({owner} may include another "
                                f"module's headers only as \"portico/<module>/...\")")
    return problems


def check(root):
    """Returns the list of problems found in the tree at `root` (empty: it keeps to its table)."""
    cmake_path = os.path.join(root, "src", "CMakeLists.txt")
    with open(cmake_path, encoding="utf-8") as f:
        graph = Graph(f.read())
    if not graph.modules:
        return [f"{os.path.relpath(cmake_path, root)}: no portico_module() call found"]

    problems = [f"src/CMakeLists.txt: dependency cycle: {' -> '.join(cycle)}"
                for cycle in graph.cycles()]

    for module, deps in graph.modules.items():
        allowed = [module] + deps
        for folder in (os.path.join(root, "src", module),
                       os.path.join(root, "include", "portico", module)):
            for path in source_files(folder):
                problems += include_problems(root, path, f"module {module}", allowed)

    for exe, sources in graph.executables.items():
        allowed = graph.executable_links[exe]
        for source in sources:
            path = os.path.join(root, "src", source)
            if source.endswith(SOURCE_SUFFIXES) and os.path.isfile(path):
                problems += include_problems(root, path, f"executable {exe}", allowed)

    for parent in (os.path.join(root, "src"), os.path.join(root, "include", "portico")):
        if not os.path.isdir(parent):
            continue
        for entry in sorted(os.listdir(parent)):
            if os.path.isdir(os.path.join(parent, entry)) and entry not in graph.modules:
                problems.append(f"{os.path.relpath(os.path.join(parent, entry), root)}/: not a "
                                f"module declared with portico_module() in src/CMakeLists.txt")
    return problems


# --- self-test: small trees the checker must accept or reject -----------------------------------

SELF_TEST_CMAKE = """\
# portico_module(ghost DEPS portico_top)   a commented-out call declares nothing
portico_module(base DEPS portico_asio)
portico_module(mid DEPS portico_base PRIVATE_DEPS some-lib)
portico_module(top DEPS portico_mid
  portico_base)
add_executable(app main.cpp)
target_link_libraries(app PRIVATE portico_top portico_warnings)
"""

SELF_TEST_FILES = {
    "include/portico/base/base.hpp": "#pragma once\n#include <string>\n",
    "src/base/base.cpp": '#include "portico/base/base.hpp"\n#include "private.hpp"\n',
    "src/base/private.hpp": "#pragma once\n",
    "include/portico/mid/mid.hpp": '#pragma once\n#include "portico/base/base.hpp"\n',
    "src/mid/mid.cpp": '#include "portico/mid/mid.hpp"\n',
    "include/portico/top/top.hpp": '#pragma once\n#include "portico/mid/mid.hpp"\n',
    "src/top/top.cpp": '#include "portico/top/top.hpp"\n#include "portico/base/base.hpp"\n',
    "src/main.cpp": '#include "portico/top/top.hpp"\n',
}

# (name, CMakeLists.txt or None for the default, {path: text} added or replacing, expected exit
# status, text the output must contain)
SELF_TEST_CASES = [
    ("a tree that keeps to its table passes", None, {}, 0, ""),
    ("an include of a higher module fails", None,
     {"src/mid/mid.cpp": '#include "portico/mid/mid.hpp"\n#include "portico/top/top.hpp"\n'},
     1, 'src/mid/mid.cpp:2: #include "portico/top/top.hpp" (module mid may use: mid, base)'),
    ("an include of a public header of a higher module fails", None,
     {"include/portico/base/base.hpp": '#pragma once\n  #  include <portico/mid/mid.hpp>\n'},
     1, "include/portico/base/base.hpp:2: #  include <portico/mid/mid.hpp> "
        "(module base may use: base)"),
    ("a dependency reached only through another module fails (direct only)",
     SELF_TEST_CMAKE.replace("portico_mid\n  portico_base)", "portico_mid)"), {},
     1, 'src/top/top.cpp:2: #include "portico/base/base.hpp" (module top may use: top, mid)'),
    ("an include of a module the executable does not link fails", None,
     {"src/main.cpp": '#include "portico/top/top.hpp"\n#include "portico/mid/mid.hpp"\n'},
     1, 'src/main.cpp:2: #include "portico/mid/mid.hpp" (executable app may use: top)'),
    ("a declared cycle fails",
     SELF_TEST_CMAKE.replace("portico_module(base DEPS portico_asio)",
                             "portico_module(base DEPS portico_asio portico_top)"), {},
     1, "dependency cycle: base -> top -> mid -> base"),
    ("a private header of another folder fails", None,
     {"src/mid/mid.cpp": '#include "../base/private.hpp"\n'},
     1, 'src/mid/mid.cpp:1: #include "../base/private.hpp"'),
    ("a folder that is not a declared module fails", None,
     {"include/portico/extra/extra.hpp": "#pragma once\n"},
     1, "include/portico/extra/: not a module declared"),
]


def self_test():
    failures = 0
    for name, cmake_text, changes, want_status, want_text in SELF_TEST_CASES:
        with tempfile.TemporaryDirectory(prefix="check_layers.") as root:
            files = dict(SELF_TEST_FILES, **changes)
            files["src/CMakeLists.txt"] = cmake_text or SELF_TEST_CMAKE
            for rel, text in files.items():
                path = os.path.join(root, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
            run = subprocess.run([sys.executable, os.path.abspath(__file__), "--root", root],
                                 capture_output=True, text=True, check=False)
            output = run.stdout + run.stderr
            ok = run.returncode == want_status and want_text in output
            print(f"{'ok  ' if ok else 'FAIL'} {name}")
            if not ok:
                failures += 1
                print(f"     exit status {run.returncode}, wanted {want_status}"
                      f"{', output lacks: ' + want_text if want_text not in output else ''}")
                print("     " + output.replace("\n", "\n     "))
    print(f"{len(SELF_TEST_CASES) - failures}/{len(SELF_TEST_CASES)} self-test cases passed")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."),
                        help="the repository to check (default: this one)")
    parser.add_argument("--self-test", action="store_true",
                        help="check that the checker rejects trees that break their table")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    root = os.path.abspath(args.root)
    problems = check(root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} include(s) or declaration(s) break the layer table in "
              f"src/CMakeLists.txt; include only the module's own headers and those of the "
              f"modules it declares, or declare the dependency (without a cycle)")
        return 1
    print(f"{root}: every include keeps to the layer table in src/CMakeLists.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
