# %% [markdown]
# ### Exercise 1: a second thread

# %%
for label, (net, size) in cases.items():
    for engine in ("torch", "onnxruntime"):
        one = timings[label][engine].median_ms
        two = measure_latency(net, size, engine=engine, threads=2, repeats=LATENCY_REPEATS).median_ms
        print(f"{label:<26} {engine:<12} 1 thread {one:7.2f} ms, 2 threads {two:7.2f} ms: {one / two:.2f}x")

# %% [markdown]
# What to look for: at 32 px each layer has too little work to split between two threads, so the gain
# is small or below 1x (the threads synchronise at every layer); at 224 px the layers are large enough
# to share, and the gain is larger. Both need a second core that is free: on a machine where other
# programs use it (the load average at the top of this page), two threads wait for each other and are
# *slower* than one, which is why the search and `infer_mnasnet` time with one thread.
#
# ### Exercise 2: int8

# %%
int8_flow = Workflow()
int8_task = int8_flow.add_task(name="infer_mnasnet", auto_connect=True)
int8_task.set_parameters({"model_weight_file": str(model_file.resolve()), "cuda": "False", "int8": "True"})
same = 0
for image, (expected, _) in zip(test_images, predictions):
    int8_flow.run_on(array=np.ascontiguousarray(image))
    same += int8_task.get_whole_image_results()[0][0] == expected
print(f"int8 and float agree on {same}/{len(test_images)} test images; {int8_task.classifier.backend_reason}")

# %% [markdown]
# ### Exercise 3: photos outside the ten classes

# %%
for name in ("astronaut", "coffee"):
    classify(getattr(skimage_data, name)())
    top = infer.get_whole_image_results()[:3]
    print(f"{name}: " + ", ".join(f"{label} {float(confidence):.0%}" for label, confidence in top))

# %% [markdown]
# The model must answer one of its ten classes, and its softmax sums to 1 whatever the input: even a
# confident answer on a photo of an astronaut says nothing about whether the image belongs to any
# class. Confidence is not a measure of being in-distribution. (A model near chance, as after fast
# mode's short training, gives almost the same answer to every image: compare with the CIFAR-10
# predictions above.)
