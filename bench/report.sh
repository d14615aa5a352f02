#!/usr/bin/env bash
# report.sh OUT RESULTS.md — the tables of bench.sh's hyperfine JSON (in OUT) as
# Markdown, and two charts drawn by bench/plot.gp from the same JSON: OUT/phases.svg
# (mean time of each step per runtime) and OUT/scale.svg (containers per second
# against concurrency). Needs jq, awk and gnuplot; runs on its own on old results too.
set -euo pipefail
OUT=$(cd "$1" && pwd)
MD=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REL=$(realpath --relative-to="$(dirname "$(realpath -m "$MD")")" "$OUT")

# ms FILE NAME [FIELD] -> the field (mean by default) of one command, in ms ("" if absent).
ms() {
    [ -f "$OUT/$1.json" ] || return 0
    jq -r --arg n "$2" --arg f "${3:-mean}" \
        '.results[] | select(.command == $n) | .[$f] * 1000 | . * 100 | round / 100' "$OUT/$1.json"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "–"; else printf "%.2f×", a / b }'; }
cell() { [ -n "$1" ] && echo "$1 ms" || echo "–"; }
# check VALUE LIMIT -> "yes" / "no" (VALUE <= LIMIT), "–" without a value
check() { awk -v v="$1" -v l="$2" 'BEGIN { if (v == "" || v == "–") print "–"; else print (v + 0 <= l + 0) ? "yes" : "**no**" }'; }

# detail FILE TITLE: every command of one hyperfine run, with its ratio to berth.
detail() {
    [ -f "$OUT/$1.json" ] || return 0
    echo "### $2"
    echo
    echo "| runtime | mean ± σ | median | min | × berth |"
    echo "|---|---|---|---|---|"
    jq -r '.results[] | [.command, .mean, .stddev, .median, .min] | @tsv' "$OUT/$1.json" |
        awk -F'\t' 'NR == 1 || $1 == "berth" { if ($1 == "berth") b = $2 } { r[NR] = $0 }
            END { for (i = 1; i <= NR; i++) { split(r[i], f, "\t")
                printf "| %s | %.2f ± %.2f ms | %.2f ms | %.2f ms | %.2f |\n",
                    f[1], f[2] * 1000, f[3] * 1000, f[4] * 1000, f[5] * 1000, f[2] / b } }'
    echo
}

rss() { awk -F'\t' -v n="$1" -v c="$2" '$1 == n { print $c }' "$OUT/rss.tsv" 2>/dev/null; }
mb() { awk -v k="$1" -v d="$2" 'BEGIN { if (k == "" || k == "n/a") print "–"; else printf "%.2f MB", k / d }'; }

{
    echo "# berth benchmark results"
    echo
    echo "Written by \`make bench\` (bench/bench.sh, then bench/report.sh); every table below"
    echo "comes from ONE hyperfine run per comparison, side by side, exported as JSON to"
    echo "\`$REL/\`. Busybox \`true\` as the container process; a pure cgroup-v2 view (a private"
    echo "mount namespace with cgroup2 on /sys/fs/cgroup) where crun runs with"
    echo "\`--cgroup-manager=disabled\` while berth and runc make their cgroups."
    echo
    if grep -q 'QUICK=1' "$OUT/meta.tsv"; then
        echo "> **A quick check (BENCH_QUICK=1): few runs, so these numbers only show that the"
        echo "> benchmark works. Run \`make bench\` on a quiet machine for real ones.**"
        echo
    fi
    awk -F'\t' '{ printf "- %s: %s\n", $1, $2 }' "$OUT/meta.tsv"
    echo
    echo "![mean time of each step](${REL}/phases.svg)"
    echo "![containers per second against concurrency](${REL}/scale.svg)"
    echo
    echo "## Summary (means; ratio = berth / other)"
    echo
    echo "| | berth | crun | runc | berth/crun | berth/runc | target | met |"
    echo "|---|---|---|---|---|---|---|---|"
    row() { # LABEL FILE TARGET_TEXT LIMIT_KIND LIMIT
        local b c r v
        b=$(ms "$2" berth); c=$(ms "$2" crun); r=$(ms "$2" runc)
        case $4 in
            crun) v=$(awk -v b="$b" -v c="$c" 'BEGIN { if (b == "" || c == "") print ""; else print b / c }') ;;
            runc) v=$(awk -v b="$b" -v c="$r" 'BEGIN { if (b == "" || c == "") print ""; else print b / c }') ;;
            ms) v=$b ;;
        esac
        echo "| $1 | $(cell "$b") | $(cell "$c") | $(cell "$r") | $(ratio "$b" "$c") | $(ratio "$b" "$r") | $3 | $(check "$v" "$5") |"
    }
    row "create + start + delete" cycle "≤ 0.5× crun" crun 0.5
    row "create" create "≤ 0.6× crun" crun 0.6
    row "start" start "≤ 1 ms" ms 1
    row "delete" delete "≤ 1 ms" ms 1
    row "exec ID true" exec "≤ 0.5× crun" crun 0.5
    row "list ($(awk -F'\t' '$1 == "runs"' "$OUT/meta.tsv" | grep -o 'LIST_N=[0-9]*' | cut -d= -f2) containers)" list "≤ 0.5× runc" runc 0.5
    b=$(rss berth 2); c=$(rss crun 2); r=$(rss runc 2)
    echo "| peak RSS of \`run\` | $(mb "$b" 1000) | $(mb "$c" 1000) | $(mb "$r" 1000) | $(ratio "$b" "$c") | $(ratio "$b" "$r") | ≤ 3 MB | $(check "$(awk -v k="$b" 'BEGIN { print k / 1000 }')" 3) |"
    b=$(rss berth 3); c=$(rss crun 3); r=$(rss runc 3)
    echo "| peak RSS of \`create\` | $(mb "$b" 1000) | $(mb "$c" 1000) | $(mb "$r" 1000) | $(ratio "$b" "$c") | $(ratio "$b" "$r") | | |"
    b=$(rss berth 4); c=$(rss crun 4); r=$(rss runc 4)
    echo "| binary | $(mb "$b" 1000000) ($(rss berth 5)) | $(mb "$c" 1000000) | $(mb "$r" 1000000) | $(ratio "$b" "$c") | $(ratio "$b" "$r") | ≤ 2.5 MB | $(check "$(awk -v k="$b" 'BEGIN { print k / 1000000 }')" 2.5) |"
    echo
    echo "The binary's protection (CVE-2019-5736: linux::trampoline in create and exec here, a re-exec where it does not suit) costs"
    awk -v a="$(ms cycle berth)" -v b="$(ms cycle berth-ro)" -v c="$(ms exec berth)" -v d="$(ms exec berth-ro)" \
        'BEGIN { if (a == "" || b == "") print "(not measured)."; else printf "%.2f ms per cycle and %.2f ms per exec (berth against the same binary on a read-only mount, which needs neither); start, state, kill, delete and list need none.\n", a - b, c - d }'
    echo
    if [ -f "$OUT/syscalls.txt" ]; then
        echo "## System calls per command (bench/syscalls.sh: strace -f, every process the"
        echo "runtime makes up to the container process's execve; files opened in brackets)"
        echo
        echo '```'
        cat "$OUT/syscalls.txt"
        echo '```'
        echo
    fi
    echo "## Scale: N containers at once through create, start and delete -f"
    echo
    first=$(ls "$OUT"/scale-*.json 2>/dev/null | sort -t- -k2 -n | head -1 | sed 's/.*scale-//; s/\.json//')
    echo "Wall time per container falls as N rises: one container at a time leaves the second"
    echo "CPU idle. A container's cost is the CPU time (user + system, every process of the run)"
    echo "berth takes for it: the run's, less that of the same harness with /bin/true as the"
    echo "runtime (bash and its forks, which weigh most at N=1). It should not grow with N."
    echo
    echo "| N | berth containers/s | crun containers/s | runc containers/s | berth wall ms per container | berth CPU ms per container | berth CPU cost vs N=${first:-1} |"
    echo "|---|---|---|---|---|---|---|"
    base="" cbase=""
    for f in $(ls "$OUT"/scale-*.json 2>/dev/null | sort -t- -k2 -n); do
        n=$(basename "$f" .json); n=${n#scale-}
        per=$(jq -r --arg n berth '.results[] | select(.command == $n) | .mean' "$f")
        cpu=$(jq -r --arg n berth '.results[] | select(.command == $n) | .user + .system' "$f")
        harness=$(jq -r '[.results[] | select(.command == "harness") | .user + .system][0] // 0' "$f")
        cpu=$(awk -v c="$cpu" -v h="$harness" 'BEGIN { print c - h }')
        [ -z "$base" ] && base=$(awk -v p="$per" -v n="$n" 'BEGIN { print p / n }')
        [ -z "$cbase" ] && cbase=$(awk -v p="$cpu" -v n="$n" 'BEGIN { print p / n }')
        line="| $n |"
        for rt in berth crun runc; do
            m=$(jq -r --arg n $rt '.results[] | select(.command == $n) | .mean' "$f")
            line="$line $(awk -v m="$m" -v n="$n" 'BEGIN { if (m == "") print "–"; else printf "%.0f", n / m }') |"
        done
        line="$line $(awk -v p="$per" -v n="$n" 'BEGIN { printf "%.2f", p / n * 1000 }') |"
        line="$line $(awk -v p="$cpu" -v n="$n" 'BEGIN { printf "%.2f", p / n * 1000 }') |"
        line="$line $(awk -v p="$cpu" -v n="$n" -v b="$cbase" 'BEGIN { printf "%.2f×", p / n / b }') |"
        echo "$line"
    done
    echo
    echo "## Each comparison"
    echo
    detail host "create + start + delete -f on the host itself (hybrid cgroups)"
    detail cycle "create + start + delete -f (berth-ro: on a read-only mount, no protection needed)"
    detail create "create alone"
    detail start "start alone"
    detail delete "delete alone (of a stopped container)"
    detail exec "exec ID true into a running container"
    detail seccomp "create + start + delete -f with bench/seccomp-default.json (berth-cold: libseccomp compiles every time)"
    detail list "list"
    for f in $(ls "$OUT"/scale-*.json 2>/dev/null | sort -t- -k2 -n); do
        n=$(basename "$f" .json); detail "$n" "${n#scale-} containers at once"
    done
} > "$MD"

# Chart data: one row per step / concurrency, one column per runtime (means).
{
    echo "step berth crun runc"
    for s in cycle create start delete exec; do
        echo "$s $(ms $s berth) $(ms $s crun) $(ms $s runc)" | awk '{ for (i = NF + 1; i <= 4; i++) $i = "NaN"; print }'
    done
} > "$OUT/phases.dat"
{
    echo "N berth crun runc"
    for f in $(ls "$OUT"/scale-*.json 2>/dev/null | sort -t- -k2 -n); do
        n=$(basename "$f" .json); n=${n#scale-}
        printf '%s' "$n"
        for rt in berth crun runc; do
            m=$(jq -r --arg n $rt '.results[] | select(.command == $n) | .mean' "$f")
            awk -v m="$m" -v n="$n" 'BEGIN { if (m == "") printf " NaN"; else printf " %.1f", n / m }'
        done
        echo
    done
} > "$OUT/scale.dat"
gnuplot -e "dir='$OUT'" "$HERE/plot.gp"
