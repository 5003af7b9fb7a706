# %% [markdown]
# ### Exercise 1: a second core
#
# Each of a dozen networks of section 3 timed with one thread, then two, back to back (so that the
# machine's load is about the same for both); the gain is the one-thread median over the two-thread one.

# %%
some = children[:min(12, len(children))]
gains = []
for c in some:
    net = create_model(c["arch"], 10, 32)
    one, two = (measure_latency(net, 32, threads=t, repeats=REPEATS).median_ms for t in (1, 2))
    gains.append(one / two)
gains = np.array(gains)
print(f"gain from a second thread: {gains.min():.2f}x to {gains.max():.2f}x (median {np.median(gains):.2f}x)")
print(f"Spearman(gain, MACs) {spearman(gains, macs[:len(some)]):.2f}; "
      f"Spearman(gain, conv layers) {spearman(gains, convs[:len(some)]):.2f}")

# %% [markdown]
# What to look for: at 32 px each layer has little work to split, and two threads must synchronise at
# every layer, so the gain is well under 2x and can fall below 1x; networks with more MACs per layer
# gain more, networks of many small layers less (the two Spearman figures). On a machine where other
# programs use the second core, the second thread waits for it and the gain collapses: the load
# average at the top of this page says whether that happened here.
#
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
