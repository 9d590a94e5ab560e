# Per-block CPU seconds of `edgellm quantize` (GPTQ of builtin:1.1b): each progress line with the process's utime+stime.
# Not a wall-clock timer (meaningless on the shared machine) and not a whole run: it stops after N blocks.
# Usage: python3 bench/gptq_block_cpu.py path/to/edgellm N   (OMP_WAIT_POLICY from the environment)
import os, subprocess, sys, time
binary, nblocks = sys.argv[1], int(sys.argv[2])
tck = os.sysconf('SC_CLK_TCK')
p = subprocess.Popen(['nice', '-n', '10', 'stdbuf', '-oL', binary, '-t', '2', 'quantize', '-m', 'builtin:1.1b',
                      '--method', 'gptq', '--type', 'int4g128', '-o', '/tmp/gptq-helper-x.gguf'],
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
t0 = time.time(); prev = 0.0; seen = 0
def cpu():
    f = open(f'/proc/{p.pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) / tck
for line in p.stdout:
    c = cpu()
    print(f'{time.time()-t0:7.1f} s wall  cpu {c:8.1f} s (+{c-prev:6.1f})  | {line.rstrip()}', flush=True)
    prev = c
    if line.startswith('['):
        seen += 1
        if seen >= nblocks:
            p.kill(); break
p.wait()
