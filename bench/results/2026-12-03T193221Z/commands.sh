cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DDUET_BUILD_BENCH=ON -DDUET_BUILD_TESTS=OFF -DDUET_BUILD_EXAMPLES=OFF
cmake --build build/bench -j2
env PEERS=raw\ asio\ grpc\ capnp SCENARIOS=A\ B\ C\ D\ S\ L\ M RUNS=5 PEERS_BUILD=$PEERS_BUILD PEERS_RESULTS=bench/results/2026-12-03T193221Z/kit PORT=47500 EXTRA_SERVER=build/bench/bench/duet_bench_server EXTRA_CLIENT=build/bench/bench/duet_bench_client ../shared/peers/run.sh
timeout -k 5 300 taskset -c 1 build/bench/bench/duet_bench_server --port 48801 &  # then wait for 'ready'
timeout -k 5 60 taskset -c 0 build/bench/bench/duet_bench_client --port 48801 --connections 1 --inflight 1 --calls 20000 --payload 16
kill %1  # SIGTERM: the server prints {"allocs_per_call": X, "calls": N}
timeout -k 5 300 taskset -c 1 build/bench/bench/duet_bench_server --port 48802 &  # then wait for 'ready'
timeout -k 5 60 taskset -c 0 build/bench/bench/duet_bench_client --port 48802 --connections 1 --inflight 64 --calls 300000 --payload 16
kill %1  # SIGTERM: the server prints {"allocs_per_call": X, "calls": N}
timeout -k 5 300 taskset -c 1 build/bench/bench/duet_bench_server --port 48803 &  # then wait for 'ready'
timeout -k 5 60 taskset -c 0 build/bench/bench/duet_bench_client --port 48803 --connections 8 --inflight 16 --calls 300000 --payload 16
kill %1  # SIGTERM: the server prints {"allocs_per_call": X, "calls": N}
timeout -k 5 300 taskset -c 1 build/bench/bench/duet_bench_server --port 48804 &  # then wait for 'ready'
timeout -k 5 60 taskset -c 0 build/bench/bench/duet_bench_client --port 48804 --connections 1 --inflight 16 --calls 20000 --payload 65536
kill %1  # SIGTERM: the server prints {"allocs_per_call": X, "calls": N}
timeout -k 5 300 taskset -c 1 build/bench/bench/duet_bench_server --port 48805 &  # then wait for 'ready'
timeout -k 5 60 taskset -c 0 build/bench/bench/duet_bench_client --port 48805 --connections 1 --stream-messages 1000000 --payload 16
kill %1  # SIGTERM: the server prints {"allocs_per_call": X, "calls": N, "allocs_per_message": Y, "messages": M}
timeout -k 5 300 taskset -c 1 build/bench/bench/duet_bench_server --port 48806 &  # then wait for 'ready'
timeout -k 5 60 taskset -c 0 build/bench/bench/duet_bench_client --port 48806 --connections 1 --stream-messages 20000 --payload 65536
kill %1  # SIGTERM: the server prints {"allocs_per_call": X, "calls": N, "allocs_per_message": Y, "messages": M}
timeout -k 5 300 taskset -c 1 build/bench/bench/duet_bench_server --port 48807 &  # then wait for 'ready'
timeout -k 5 60 taskset -c 0 build/bench/bench/duet_bench_client --port 48807 --connections 8 --stream-messages 250000 --payload 16
kill %1  # SIGTERM: the server prints {"allocs_per_call": X, "calls": N, "allocs_per_message": Y, "messages": M}
env PEERS=raw\ asio\ grpc\ capnp\ duet LEVELS=1\ 16\ 256\ 4096 RUNS=3 PEERS_BUILD=$PEERS_BUILD DUET_BUILD=build/bench OUT=bench/results/2026-12-03T193221Z/sweep.jsonl bench/sweep.sh
bench/plot.sh bench/results/2026-12-03T193221Z/sweep.jsonl docs/images/inflight.png
timeout -k 5 600 bench/instructions.sh build/bench/bench
timeout -k 5 600 env SERVER=$PEERS_BUILD/raw_server CLIENT=$PEERS_BUILD/raw_client bench/instructions.sh
timeout -k 5 900 bash bench/compile_time.sh 3
timeout -k 5 600 build/bench/bench/duet_bench_memory
