# %% [markdown]
# The solutions train on the lesson's data with a shorter schedule (`SOLUTION_EPOCHS`), so the teacher's
# edition stays within a class period; the comparisons hold at equal epochs.

# %%
SOLUTION_EPOCHS = 1 if FAST else 2


def train(arch_string: str, data: Path, folder: str, **parameters) -> tuple[object, list]:
    """One train_mnasnet run in a fresh workflow; its outcome and its per-epoch validation top-1."""
    flow = Workflow()
    flow.add_input(CPathIO(IODataType.FOLDER_PATH, str(data.resolve())))
    task = flow.add_task(name="train_mnasnet", auto_connect=True)
    task.set_parameters({"arch": arch_string, "input_size": "32", "epochs": str(SOLUTION_EPOCHS),
                         "batch_size": "32", "learning_rate": "0.05", "warmup_epochs": "0", "overwrite": "True",
                         "output_folder": str((OUTPUTS / "solutions" / folder).resolve()), **parameters})
    flow.run()
    return task.outcome, [epoch.top1 for epoch in task.outcome.result.history]


# %% [markdown]
# ### Exercise 1: RMSProp at its own learning rates

# %%
fig = plt.figure(figsize=(6, 3.6))
for optimizer, lr in (("sgd", "0.05"), ("rmsprop", "0.005"), ("rmsprop", "0.01"), ("rmsprop", "0.02")):
    _, curve = train(arch, DATA, f"{optimizer}-{lr}", optimizer=optimizer, learning_rate=lr)
    plt.plot(range(1, len(curve) + 1), curve, marker="o", label=f"{optimizer}, lr {lr}")
    print(f"{optimizer:<8} lr {lr:<6} validation top-1 after {SOLUTION_EPOCHS} epochs: {curve[-1]:.1%}")
plt.xlabel("epoch")
plt.ylabel("validation top-1")
plt.legend(fontsize=8)
show(fig, "solution_optimizers")

# %% [markdown]
# (The curves are read here from the task's history; the same figures are in MLflow, one run each.)
#
# ### Exercise 2: half and double the data

# %%
for per_class in (TRAIN_PER_CLASS // 2, TRAIN_PER_CLASS, 2 * TRAIN_PER_CLASS):
    subset = OUTPUTS / f"cifar10-{per_class}-{VAL_PER_CLASS}"
    link_subset(CIFAR10, subset, {"train": ("train", 0, per_class), "val": ("test", 0, VAL_PER_CLASS)})
    outcome, curve = train(arch, subset, f"data-{per_class}")
    seconds = outcome.result.history[-1].epoch_seconds
    print(f"{per_class:>4} images per class: validation top-1 {curve[-1]:.1%}, last epoch {seconds:.1f} s")

# %% [markdown]
# What to look for: an epoch's time grows about in proportion to the data (one pass over every image),
# while accuracy grows far more slowly than the data; in fast mode every run stays near chance and
# the differences are noise (with the validation images of this lesson, a standard error of a few
# points).
#
# ### Exercise 3: a broken string

# %%
broken = arch.replace("k3", "k4", 1)
try:
    train(broken, DATA, "broken")
except Exception as error:  # the workflow re-raises the task's error
    print(f"{type(error).__name__}: {error}")
_, curve = train(arch, DATA, "fixed")
print(f"after fixing the string the workflow runs: validation top-1 {curve[-1]:.1%}")

# %% [markdown]
# The error is raised when the task parses `arch`, before any training, and names the token (`k4`) and
# the kernels allowed.
#
# ### Exercise 4: a longer final comparison
#
# The interval's width depends on the number of *test* images (about $2\times 1.96\sqrt{p(1-p)/n}$ for
# one accuracy; the paired margin's is narrower), so `final_test_per_class` narrows it, not the training
# settings. More training moves the accuracies themselves, and may move the verdict. What the interval
# never covers is the training seed: each model is trained once, and another seed would give another
# accuracy (`mnas.search.final`'s docstring says so).
