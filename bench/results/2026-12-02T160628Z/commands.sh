cmake -S /work/main -B /work/build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DDUET_BUILD_BENCH=ON -DDUET_BUILD_TESTS=OFF -DDUET_BUILD_EXAMPLES=OFF
cmake --build /work/build-bench -j2
env PEERS_BUILD=/tmp/peers-build /work/shared/peers/build.sh
env PEERS=raw\ asio\ grpc\ capnp SCENARIOS=A\ B\ C\ D RUNS=7 PEERS_BUILD=/tmp/peers-build PEERS_RESULTS=/work/main/bench/results/2026-12-02T160628Z/kit PORT=47500 EXTRA_SERVER=/work/build-bench/bench/duet_bench_server EXTRA_CLIENT=/work/build-bench/bench/duet_bench_client /work/shared/peers/run.sh
timeout -k 5 300 taskset -c 1 /work/build-bench/bench/duet_bench_server --port 48801 &  # then wait for 'ready'
timeout -k 5 60 taskset -c 0 /work/build-bench/bench/duet_bench_client --port 48801 --connections 1 --inflight 1 --calls 20000 --payload 16
kill %1  # SIGTERM: the server prints {"allocs_per_call": X, "calls": N}
timeout -k 5 300 taskset -c 1 /work/build-bench/bench/duet_bench_server --port 48802 &  # then wait for 'ready'
timeout -k 5 60 taskset -c 0 /work/build-bench/bench/duet_bench_client --port 48802 --connections 1 --inflight 64 --calls 300000 --payload 16
kill %1  # SIGTERM: the server prints {"allocs_per_call": X, "calls": N}
timeout -k 5 300 taskset -c 1 /work/build-bench/bench/duet_bench_server --port 48803 &  # then wait for 'ready'
timeout -k 5 60 taskset -c 0 /work/build-bench/bench/duet_bench_client --port 48803 --connections 8 --inflight 16 --calls 300000 --payload 16
kill %1  # SIGTERM: the server prints {"allocs_per_call": X, "calls": N}
timeout -k 5 300 taskset -c 1 /work/build-bench/bench/duet_bench_server --port 48804 &  # then wait for 'ready'
timeout -k 5 60 taskset -c 0 /work/build-bench/bench/duet_bench_client --port 48804 --connections 1 --inflight 16 --calls 20000 --payload 65536
kill %1  # SIGTERM: the server prints {"allocs_per_call": X, "calls": N}
env PEERS=raw\ asio\ grpc\ capnp\ duet LEVELS=1\ 16\ 256\ 4096 RUNS=5 PEERS_BUILD=/tmp/peers-build DUET_BUILD=/work/build-bench OUT=/work/main/bench/results/2026-12-02T160628Z/sweep.jsonl /work/main/bench/sweep.sh
/work/main/bench/plot.sh /work/main/bench/results/2026-12-02T160628Z/sweep.jsonl /work/main/docs/images/inflight.png
timeout -k 5 900 bash /work/main/bench/compile_time.sh 3
timeout -k 5 600 /work/build-bench/bench/duet_bench_memory
