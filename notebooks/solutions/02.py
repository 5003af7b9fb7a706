# %% [markdown]
# ### Exercise 1: a second core
#
# Each network of section 3, timed again with two threads; the gain is the one-thread median over the
# two-thread one. Small inputs give each layer too little work to split: the gain follows the MACs, and
# networks made of many small layers gain least.

# %%
some = children[:min(12, len(children))]
gains = np.array([c["latency"].median_ms / measure_latency(create_model(c["arch"], 10, 32), 32, threads=2,
                                                           repeats=REPEATS).median_ms for c in some])
print(f"gain from a second core: {gains.min():.2f}x to {gains.max():.2f}x (median {np.median(gains):.2f}x)")
print(f"Spearman(gain, MACs) {spearman(gains, macs[:len(some)]):.2f}; "
      f"Spearman(gain, conv layers) {spearman(gains, convs[:len(some)]):.2f}")

# %% [markdown]
# ### Exercise 2: MnasNet-A1 against MnasNet-B1 1.0 at 224 px, both engines

# %%
for engine in ("torch", "onnxruntime"):
    a1, b1 = (measure_latency(create_model(name), 224, engine=engine, repeats=VARIANT_REPEATS).median_ms
              for name in ("mnasnet_a1", "mnasnet1_0"))
    print(f"{engine:<12} A1 {a1:6.1f} ms, B1 {b1:6.1f} ms: A1 / B1 = {a1 / b1:.2f}")

# %% [markdown]
# SE adds layers with almost no MACs (a pooling, two tiny fully connected layers, a multiply): they cost
# launches, and memory passes over the whole map, which MACs do not count. Compare the ratio with the
# two engines: the one with less per-layer overhead narrows the gap.
#
# ### Exercise 3: a lookup table for ONNX Runtime

# %%
some = children[:min(10, len(children))]
ort_table = LatencyTable(engine="onnxruntime", threads=1, repeats=TABLE_REPEATS)
ort_predicted = np.array([ort_table.predict(c["arch"], 32, 10) for c in some])
print(f"ONNX Runtime table on {len(some)} networks: Spearman {spearman(ort_predicted, ort[:len(some)]):.2f} "
      f"against ONNX Runtime; the torch table on the same networks: "
      f"{spearman(predicted[:len(some)], measured[:len(some)]):.2f} against torch")
print(f"sum of layers / measured: ONNX Runtime {np.median(ort_predicted / ort[:len(some)]):.2f}, "
      f"torch {np.median(predicted[:len(some)] / measured[:len(some)]):.2f}")

# %% [markdown]
# A table sums layers timed in isolation. ONNX Runtime fuses and plans the whole graph, so its network
# is not the sum of its layers timed one by one: each isolated layer pays a session call the whole
# network pays once. Which engine ranks better by summing here is printed above; the ratio line shows
# how far each sum is from the real figure.
