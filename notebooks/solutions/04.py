# %% [markdown]
# The solutions' searches run in new folders beside the lesson's (a folder holds one search), with the
# lesson's settings except the one an exercise changes, and without B1 baselines or a random
# comparison (the exercises do not use them, and each would be trained again).

# %%
import dataclasses


def search_in(name: str, **changes):
    folder = OUTPUTS / ("fast" if FAST else "full") / name
    if FRESH:
        shutil.rmtree(folder, ignore_errors=True)
    changed = dataclasses.replace(config, compare_random=False, baseline_widths=(), **changes)
    return Search(cifar10_root(), folder, changed).run()

# %% [markdown]
# ### Exercise 1: the hard constraint

# %%
hard = search_in("hard", constraint="hard")
for name, records in (("soft", result.children), ("hard", hard.children)):
    ratios = np.array([r["latency_ratio"] for r in records])
    print(f"{name}: controller's children at {np.median(ratios):.2f} x T (median), "
          f"{np.mean(ratios <= summary['target_ratio']):.0%} under T")

# %% [markdown]
# With so few children the controller has hardly learned (section 5), so the hard search's children
# are about as fast as the soft one's: the constraint acts through what the controller *learns*, and
# only the reward of the slow children changes at first. Hundreds of children are needed before a
# constraint visibly moves the sampled latencies: section 1's runs on the surrogate benchmark.
#
# ### Exercise 2: a much stronger latency penalty, $w = -0.3$

# %%
for w in (-0.07, -0.3):
    rule = objective("soft", target, w=w)
    best = max(everything, key=lambda r: rule(r["accuracy"], r["latency_ratio"]))
    print(f"w = {w}: best child {best['latency_ratio']:.2f} x T, top-1 {best['accuracy']:.1%}")
strong = search_in("w-0.3", w=-0.3)
print(f"a search with w = -0.3: best child {strong.summary['best']['latency_ratio']:.2f} x T")

# %% [markdown]
# A doubling of latency now costs $1 - 2^{-0.3} = 19$ % of the reward instead of 5 %: the best child
# moves toward the *fast* end of the front, unless a slow child is much more accurate.
#
# ### Exercise 3: the spread of random search over seeds

# %%
bests = [search_in(f"random-{seed}", sampler="random", seed=seed).summary["best"]["reward"] for seed in (1, 2, 3)]
print(f"best reward of random search, seeds 1-3: {', '.join(f'{b:.3f}' for b in bests)} "
      f"(spread {max(bests) - min(bests):.3f}); controller vs random above: "
      f"{summary['best']['reward'] - summary['random_search']['best']['reward']:+.3f}")

# %% [markdown]
# The spread over seeds is of the same order as the gap between the controller and random search:
# one run per sampler cannot tell them apart. Comparing strategies needs many seeds (and so many
# cheap children), which is what a surrogate benchmark gives (lesson 3, section 7).
