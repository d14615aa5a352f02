# plot.gp — the two charts of bench/RESULTS.md, from the .dat files bench/report.sh
# derives from hyperfine's JSON. Usage: gnuplot -e "dir='bench/results'" bench/plot.gp

set terminal svg size 720,420 dynamic font "sans,12"
set datafile missing "NaN"
set key autotitle columnhead top left
set grid ytics

# Mean time of each step, one bar per runtime.
set output dir."/phases.svg"
set title "Mean time per step (busybox true, cgroup-v2 view)"
set ylabel "ms"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
plot dir."/phases.dat" using 2:xtic(1) lc rgb "#1b9e77", \
     "" using 3 lc rgb "#d95f02", \
     "" using 4 lc rgb "#7570b3"

# Containers per second against the number created, started and deleted at once.
set output dir."/scale.svg"
set title "Containers per second, N at once (create + start + delete)"
set ylabel "containers / s"
set xlabel "containers at once (N)"
set style data linespoints
set logscale x 2
set xrange [0.8:*]
plot dir."/scale.dat" using 1:2 lw 2 pt 7 lc rgb "#1b9e77", \
     "" using 1:3 lw 2 pt 5 lc rgb "#d95f02", \
     "" using 1:4 lw 2 pt 9 lc rgb "#7570b3"
