"""The RNN controller and its PPO trainer (paper, section 3; NASNet's one-layer LSTM).

The controller emits a child's decisions one at a time, block by block: at each step an LSTM cell
reads the embedding of the previous decision (a learned start vector at step 0), and the step's own
linear head gives a softmax over that decision's choices.  The policy's log-probability of a child is
the sum over its decisions.

`PPO` trains it on the expected reward with the clipped surrogate objective, an advantage against an
exponential moving average of past rewards, and an entropy bonus that keeps the search exploring.
Everything is seeded: sampling takes an explicit `torch.Generator`, so a replay of the same rewards
gives the same controller, bit for bit (this is how a search resumes after a kill).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import torch
from torch import nn


class Controller(nn.Module):
    """One-layer LSTM emitting one categorical decision per step, each with its own softmax head."""

    def __init__(self, num_choices: Sequence[int], hidden: int = 64, seed: int = 0):
        super().__init__()
        if not num_choices or min(num_choices) < 1:
            raise ValueError(f"num_choices must be a non-empty list of positive counts, got {num_choices}")
        self.num_choices = list(num_choices)
        init = torch.Generator().manual_seed(seed)
        self.hidden = hidden
        self.start = nn.Parameter(torch.zeros(1, hidden))
        self.cell = nn.LSTM(hidden, hidden)
        self.embeddings = nn.ModuleList(nn.Embedding(n, hidden) for n in self.num_choices)
        self.heads = nn.ModuleList(nn.Linear(hidden, n) for n in self.num_choices)
        with torch.no_grad():  # seeded, uniform-ish start: small weights keep initial softmaxes near flat
            for p in self.parameters():
                p.uniform_(-0.1, 0.1, generator=init)
        # every step's choices as one slice of a concatenated head: scoring given actions runs all the
        # steps' heads, softmaxes and embeddings as a few batched operations instead of a Python loop
        sizes = torch.tensor(self.num_choices)
        self.register_buffer("offsets", torch.cumsum(sizes, 0) - sizes, persistent=False)
        owner = torch.repeat_interleave(torch.arange(len(sizes)), sizes)
        self.register_buffer("foreign", owner.unsqueeze(0) != torch.arange(len(sizes)).unsqueeze(1),
                             persistent=False)  # [step, column]: True where the column is another step's

    def _step(self, x: torch.Tensor, state):
        """One LSTM step on the sequence LSTM's weights; the cell kernel nn.LSTMCell runs costs a
        quarter of a one-step nn.LSTM call, and sampling is one step at a time."""
        if state is None:
            state = (x.new_zeros(x.shape[0], self.hidden),) * 2
        h, c = torch.lstm_cell(x, state, self.cell.weight_ih_l0, self.cell.weight_hh_l0,
                               self.cell.bias_ih_l0, self.cell.bias_hh_l0)
        return h, (h, c)

    def sample(self, generator: torch.Generator) -> tuple[list[int], torch.Tensor, torch.Tensor]:
        """One child: (actions, per-step log-probabilities, per-step entropies), without gradients."""
        actions, log_probs, entropies = self.sample_batch(generator, 1)
        return actions[0].tolist(), log_probs[0], entropies[0]

    def sample_batch(self, generator: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`batch` children drawn together (one multinomial draw per step), without gradients: actions
        [batch, steps] and their per-step log-probabilities and entropies (same shape)."""
        with torch.no_grad():
            x, state = self.start.expand(batch, -1), None
            outputs, taken = [], []
            for head, embed in zip(self.heads, self.embeddings):
                h, state = self._step(x, state)
                action = torch.multinomial(torch.softmax(head(h), 1), 1, generator=generator)[:, 0]
                outputs.append(h)
                taken.append(action)
                x = embed(action)
            actions = torch.stack(taken, 1)
            log_probs, entropies = self._scores(torch.stack(outputs), actions)
        return actions, log_probs.T, entropies.T

    def log_prob(self, actions: Sequence[Sequence[int]] | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed log-probability and summed entropy of each action sequence (with gradients).

        The inputs of every step are known (the given actions), so the LSTM runs over the whole sequence
        at once."""
        actions = torch.as_tensor(actions, dtype=torch.long)
        if actions.dim() == 1:
            actions = actions.unsqueeze(0)
        steps = len(self.num_choices)
        if actions.shape[1] != steps:
            raise ValueError(f"actions: expected {steps} decisions per child, got {actions.shape[1]}")
        table = torch.cat([embed.weight for embed in self.embeddings])
        inputs = torch.cat([self.start.expand(actions.shape[0], -1).unsqueeze(0),
                            table[(actions[:, :-1] + self.offsets[:-1]).T]])       # [steps, batch, hidden]
        outputs, _ = self.cell(inputs)
        log_probs, entropies = self._scores(outputs, actions)
        return log_probs.sum(0), entropies.sum(0)

    def _scores(self, outputs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-step log-probability of `actions` [batch, steps] and entropy, [steps, batch], from the LSTM's
        `outputs` [steps, batch, hidden]: the steps' heads as one matrix whose other steps' columns are
        masked out, so every step is scored by a few batched operations instead of a Python loop."""
        weight = torch.cat([head.weight for head in self.heads])
        bias = torch.cat([head.bias for head in self.heads])
        foreign = self.foreign.unsqueeze(1)
        logp = torch.log_softmax((outputs @ weight.T + bias).masked_fill(foreign, float("-inf")), 2)
        chosen = logp.gather(2, (actions.T + self.offsets.unsqueeze(1)).unsqueeze(2))[..., 0]
        entropy = -(logp.exp() * logp.masked_fill(foreign, 0.0)).sum(2)
        return chosen, entropy

    def greedy(self) -> list[int]:
        """The most probable decision at every step (feeding back the argmax)."""
        x, state, result = self.start, None, []
        with torch.no_grad():
            for head, embed in zip(self.heads, self.embeddings):
                h, state = self._step(x, state)
                action = head(h).argmax(1)
                result.append(int(action))
                x = embed(action)
        return result


@dataclasses.dataclass
class PPOConfig:
    lr: float = 0.005
    clip: float = 0.2
    epochs: int = 4               # passes of the clipped objective over each batch
    batch: int = 4                # children per update
    entropy_weight: float = 0.05  # weight of the mean per-decision entropy (nats)
    baseline_decay: float = 0.8   # EMA: baseline <- decay * baseline + (1 - decay) * reward
    # divide advantages by the running standard deviation of reward - baseline (same EMA), so the step
    # does not depend on the reward's scale (proxy rewards differ by ~0.01, which the entropy bonus drowns)
    normalize_advantages: bool = False


class PPO:
    """Proximal Policy Optimization of a `Controller` on scalar rewards, one batch of children at a time.

    `record(actions, old_log_prob, reward)` queues a child; when `batch` children are queued, `update`
    runs: advantage = reward - EMA baseline (the baseline then moves toward the batch's rewards; with
    `normalize_advantages`, divided by the EMA standard deviation of reward - baseline), and
    `epochs` Adam steps on -min(ratio * A, clip(ratio) * A) - entropy_weight * mean entropy.
    """

    def __init__(self, controller: Controller, config: PPOConfig | None = None):
        self.controller = controller
        self.config = config or PPOConfig()
        # foreach: one batched step over the ~90 small tensors (the per-tensor loop costs more than the maths)
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=self.config.lr, foreach=True)
        self.baseline: float | None = None
        self.deviation: float | None = None   # EMA of (reward - baseline)^2, for normalize_advantages
        self.pending: list[tuple[list[int], float, float]] = []
        self.updates = 0

    def record(self, actions: Sequence[int], old_log_prob: float, reward: float) -> dict | None:
        """Queue one child; returns the update's statistics when this child completes a batch."""
        self.pending.append((list(actions), float(old_log_prob), float(reward)))
        if len(self.pending) < self.config.batch:
            return None
        return self.update()

    def advantages(self, rewards: torch.Tensor) -> torch.Tensor:
        """Advantages of a batch against the EMA baseline, which then moves toward the batch's rewards
        (and, with normalize_advantages, divided by the EMA standard deviation of reward - baseline)."""
        cfg = self.config
        if self.baseline is None:
            self.baseline = float(rewards.mean())
            self.deviation = float(rewards.var(unbiased=False)) if len(rewards) > 1 else 0.0
        advantages = rewards - self.baseline
        for reward in rewards.tolist():
            spread = (reward - self.baseline) ** 2
            self.deviation = cfg.baseline_decay * self.deviation + (1 - cfg.baseline_decay) * spread
            self.baseline = cfg.baseline_decay * self.baseline + (1 - cfg.baseline_decay) * reward
        if cfg.normalize_advantages and self.deviation > 0:
            advantages = advantages / self.deviation ** 0.5
        return advantages

    def update(self) -> dict:
        cfg = self.config
        actions = torch.tensor([a for a, _, _ in self.pending], dtype=torch.long)
        old_log_probs = torch.tensor([lp for _, lp, _ in self.pending])
        rewards = torch.tensor([r for _, _, r in self.pending])
        self.pending = []
        advantages = self.advantages(rewards)
        steps = len(self.controller.num_choices)
        for _ in range(cfg.epochs):
            log_probs, entropies = self.controller.log_prob(actions)
            ratio = torch.exp(log_probs - old_log_probs)
            surrogate = torch.min(ratio * advantages, ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * advantages)
            loss = -surrogate.mean() - cfg.entropy_weight * entropies.mean() / steps
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        self.updates += 1
        return {"loss": float(loss.detach()), "advantage": float(advantages.mean()),
                "baseline": self.baseline}
