# The course's front door. Every recipe is a `cargo course ...` call, so everything here also
# works without just: `just check tunnel/basic` is `cargo course check tunnel/basic`.
# `just --list` shows the recipes; steps are named `topic/step` (`just hint tunnel/basic`).

# Arguments reach cargo course as given, one by one (no re-splitting of spaces); `@` keeps
# just from echoing the command before running it.
set positional-arguments

# Every topic and step with your progress, and the command to run next (the default)
list:
    @cargo course list

# Re-check the current step on every save; keys: h hint, a hints seen, n next, l list, c check, q quit (--poll to poll)
watch *args:
    @cargo course watch "$@"

# Check a step (`just check tunnel/basic`), a whole topic (`just check tunnel`), or the current step
check *args:
    @cargo course check "$@"

# The next hint for a step (each call shows one more; --all shows those seen): `just hint tunnel/basic`
hint *args:
    @cargo course hint "$@"

# Replay the failing test's schedule as a timeline, as failures print it: `just trace tunnel/fair --seed 7 --strategy pct:3`
trace *args:
    @cargo course trace "$@"

# Predict a scenario table step by step, then see it and your score: `just predict tunnel/basic`
predict *args:
    @cargo course predict "$@"

# Your file against the reference, once the step passes (--force before): `just solution tunnel/basic`
solution *args:
    @cargo course solution "$@"

# Restore a step's file to the starter as shipped, after asking (--yes not to ask): `just reset tunnel/basic`
reset *args:
    @cargo course reset "$@"

# Check every step and print the points (--format json|csv|gradescope, --topics, --steps)
report *args:
    @cargo course report "$@"

# Teachers and CI: references pass, starters fail as shipped, course.toml and the book match the tree
verify *args:
    @cargo course verify "$@"

# Every test with the reference solutions, then the teachers' gate (what CI runs)
test:
    cargo test --workspace --features solution
    @cargo course verify

# Serve the book at http://localhost:3000 and open it (installs the pinned mdbook first if needed)
book:
    bash scripts/install-mdbook.sh
    mdbook serve book --open
