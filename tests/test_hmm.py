"""The HMM forward algorithm, the published ParPy case study (issue 10 item
13), in 0.1.3's style: dict arguments holding arrays and 0-d arrays used as
scalars, a sequential time loop inside the parallel loop over instances,
alpha buffers swapped by parity, int16 predecessor indices and float32
casts, -inf, max/log/exp, slice reductions, and the 'state' loops on 512
and on 2048 threads.  Model data are generated (a banded left-to-right model
with random log-probabilities); the compiled run must match the same
function run by the interpreter on NumPy arrays.  Cpu here; the Cuda run is
marked `cuda`, and the Cuda code's structure and nvcc compile are checked here."""
import re

import numpy as np
import pytest

import parpy
from parpy.operators import exp, float32, inf, int64, log, max as pmax, sum as psum
from harness import assert_same, rng, needs_nvcc, nvcc_compile  # noqa: F401  (fixture)


@parpy.jit
def forward(hmm, seqs, alpha1, alpha2, result):
    parpy.label('inst')
    for inst in range(seqs['num_instances']):
        o = int64(seqs['data'][inst, 0])
        parpy.label('state')
        for state in range(hmm['num_states']):
            alpha1[inst, state] = hmm['initial_prob'][state] + hmm['output_prob'][o, state]
        for t in range(1, seqs['maxlen']):
            if t < seqs['lens'][inst]:
                o = int64(seqs['data'][inst, t])
                parpy.label('state')
                for state in range(hmm['num_states']):
                    maxp = -inf
                    for p in range(hmm['num_preds']):
                        pred = int64(hmm['pred_idx'][state, p])
                        if t % 2 == 1:
                            v = alpha1[inst, pred] + hmm['pred_prob'][state, p]
                        else:
                            v = alpha2[inst, pred] + hmm['pred_prob'][state, p]
                        maxp = max(maxp, v)
                    total = float32(0.0)
                    for p in range(hmm['num_preds']):
                        pred = int64(hmm['pred_idx'][state, p])
                        if t % 2 == 1:
                            v = alpha1[inst, pred] + hmm['pred_prob'][state, p]
                        else:
                            v = alpha2[inst, pred] + hmm['pred_prob'][state, p]
                        total = total + exp(v - maxp)
                    val = float32(maxp + log(total) + hmm['output_prob'][o, state])
                    if t % 2 == 1:
                        alpha2[inst, state] = val
                    else:
                        alpha1[inst, state] = val
        # The last step wrote alpha1 when the sequence length is odd.
        if seqs['lens'][inst] % 2 == 1:
            parpy.label('state')
            m = pmax(alpha1[inst, :])
            parpy.label('state')
            s = psum(exp(alpha1[inst, :] - m))
        else:
            parpy.label('state')
            m = pmax(alpha2[inst, :])
            parpy.label('state')
            s = psum(exp(alpha2[inst, :] - m))
        result[inst] = m + log(s)


def make_model(rng, num_states, num_preds, num_outputs):
    """A banded left-to-right model: state s follows s - p for p < num_preds
    (wrapping), with random normalised log-probabilities in float32."""
    def log_normalised(shape):
        w = rng.pos(shape, np.float64) + 0.05
        return np.log(w / w.sum(axis=-1, keepdims=True)).astype(np.float32)

    pred_idx = ((np.arange(num_states)[:, None] - np.arange(num_preds)[None, :])
                % num_states).astype(np.int16)
    return {
        'num_states': np.array(num_states, dtype=np.int64),
        'num_preds': np.array(num_preds, dtype=np.int64),
        'initial_prob': log_normalised(num_states),
        'output_prob': log_normalised((num_states, num_outputs)).T.copy(),
        'pred_idx': pred_idx,
        'pred_prob': log_normalised((num_states, num_preds)),
    }


def make_seqs(rng, num_instances, maxlen, num_outputs):
    lens = np.random.default_rng(int(rng.pos(1)[0] * 1e6)).integers(
        1, maxlen + 1, num_instances).astype(np.int32)
    lens[0] = maxlen  # the longest and the shortest both occur
    lens[-1] = 1
    data = np.random.default_rng(int(rng.pos(1)[0] * 1e6)).integers(
        0, num_outputs, (num_instances, maxlen)).astype(np.int8)
    return {
        'num_instances': np.array(num_instances, dtype=np.int64),
        'maxlen': np.array(maxlen, dtype=np.int64),
        'lens': lens,
        'data': data,
    }


def numpy_forward(hmm, seqs):
    """The same algorithm written with whole-array NumPy operations (float64),
    as an independent check of the test itself."""
    out = []
    for inst in range(int(seqs['num_instances'])):
        n = int(seqs['lens'][inst])
        obs = seqs['data'][inst].astype(np.int64)
        a = hmm['initial_prob'].astype(np.float64) + hmm['output_prob'][obs[0]]
        for t in range(1, n):
            v = a[hmm['pred_idx'].astype(np.int64)] + hmm['pred_prob']
            m = v.max(axis=1)
            a = m + np.log(np.exp(v - m[:, None]).sum(axis=1)) + hmm['output_prob'][obs[t]]
        m = a.max()
        out.append(m + np.log(np.exp(a - m).sum()))
    return np.array(out)


def copies(hmm, seqs, num_instances, num_states):
    alpha1 = np.full((num_instances, num_states), np.nan, dtype=np.float32)
    alpha2 = np.full((num_instances, num_states), np.nan, dtype=np.float32)
    result = np.full(num_instances, np.nan, dtype=np.float32)
    h = {k: v.copy() for k, v in hmm.items()}
    s = {k: v.copy() for k, v in seqs.items()}
    return h, s, alpha1, alpha2, result


def run_and_compare(rng, backend, state_threads, num_states=96, num_preds=5, num_outputs=7,
                    num_instances=37, maxlen=24):
    hmm = make_model(rng, num_states, num_preds, num_outputs)
    seqs = make_seqs(rng, num_instances, maxlen, num_outputs)
    opts = parpy.par({'inst': parpy.threads(int(seqs['num_instances'])),
                      'state': parpy.threads(state_threads)})
    opts.backend = backend
    ref = copies(hmm, seqs, num_instances, num_states)
    got = copies(hmm, seqs, num_instances, num_states)
    forward(*ref, seq=True)
    forward(*got, opts=opts)
    # Only the alpha entries of steps that ran are defined (NaN elsewhere in
    # both runs), so compare the results, which read exactly those.
    assert_same(ref[4], got[4], "result", reduction=True)
    np.testing.assert_allclose(ref[4], numpy_forward(hmm, seqs), rtol=1e-4, atol=1e-3)
    assert np.isfinite(got[4]).all()


@pytest.mark.parametrize("state_threads", [512, 2048])
def test_hmm_forward_cpu(rng, state_threads):
    run_and_compare(rng, parpy.CompileBackend.Cpu, state_threads)


@pytest.mark.cuda
@pytest.mark.skipif(not parpy.backend.is_enabled(parpy.CompileBackend.Cuda),
                    reason="the Cuda backend is not enabled")
@pytest.mark.parametrize("state_threads", [512, 2048])
def test_hmm_forward_cuda(rng, state_threads):
    run_and_compare(rng, parpy.CompileBackend.Cuda, state_threads, num_states=2048,
                    num_instances=100, maxlen=40)


def test_threads_from_the_model_dict():
    """0.1.3 code sizes the parallel loops from the model: threads() of a
    0-d integer array."""
    hmm = {'num_states': np.array(512, dtype=np.int64)}
    assert parpy.threads(hmm['num_states']).nthreads == 512


# ---- the Cuda code, without a GPU ----

def cuda_code(state_threads):
    from harness import Gen
    g = Gen(1)
    hmm = make_model(g, 2048, 5, 7)
    seqs = make_seqs(g, 100, 40, 7)
    opts = parpy.par({'inst': parpy.threads(100), 'state': parpy.threads(state_threads)})
    opts.backend = parpy.CompileBackend.Cuda
    return parpy.print_compiled(forward, list(copies(hmm, seqs, 100, 2048)), opts)


def test_cuda_state_loops_in_one_block_need_one_kernel():
    assert cuda_code(512).count("__global__") == 1


def test_cuda_parity_if_over_several_blocks_is_split_by_the_host():
    """'state' on 2048 threads spans two blocks, so the reductions inside
    the final parity if need kernels of their own: the condition is computed
    once per instance into device memory, and every piece of either branch
    runs under it (`if (cond[inst])` / `if (!cond[inst])`)."""
    code = cuda_code(2048)
    kernels = code.split("__global__")[1:]
    setters = [k for k in kernels if re.search(r"cond_\d+\[inst\] = cond(_\d+)?;", k)]
    assert len(setters) == 1
    then = [k for k in kernels if re.search(r"if \(cond_\d+\[inst\]\)", k)]
    els = [k for k in kernels if re.search(r"if \(!cond_\d+\[inst\]\)", k)]
    assert len(then) == 4 and len(els) == 4  # max and sum, each with its second pass
    assert sum("alpha1[" in k for k in then) == 2 and sum("alpha2[" in k for k in els) == 2
    assert all("alpha2" not in k for k in then) and all("alpha1" not in k for k in els)
    assert "cudaMallocAsync((void **)&cond" in code


@needs_nvcc
@pytest.mark.parametrize("state_threads", [512, 2048])
def test_cuda_code_compiles_with_nvcc(tmp_path, state_threads):
    failed = nvcc_compile(cuda_code(state_threads), tmp_path, "hmm")
    assert failed is None, failed
