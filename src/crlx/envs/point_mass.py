"""Pure-JAX 2-D point mass that moves toward a goal: cheap enough for unit and learning tests.

state  = position p in [-arena, arena]^2 (state_dim 2, goal_indices (0, 1))
action = a in [-1, 1]^2;  p' = clip(p + max_step * a, -arena, arena)  (the arena has walls)
goal   ~ U([-arena, arena]^2) each episode; start ~ U([-arena, arena]^2)
reward = -||p' - g||
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from brax.envs.base import State

from crlx.envs.base import EnvSpec, GoalEnv


class PointMass(GoalEnv):
    """Velocity-controlled point in a walled square; success within `success_threshold` of the goal."""

    state_dim = 2
    goal_indices = (0, 1)

    def __init__(
        self,
        episode_length: int = 50,
        success_threshold: float = 0.1,
        arena: float = 1.0,
        max_step: float = 0.1,
        backend: str = "jax",
        goal_space: str | None = None,
    ):
        if backend != "jax":
            raise ValueError(f"point_mass: backend must be 'jax' (it has no physics engine), got {backend!r}")
        if arena <= 0 or max_step <= 0:
            raise ValueError(f"point_mass: arena and max_step must be > 0, got arena={arena}, max_step={max_step}")
        self.spec = EnvSpec(episode_length=episode_length, success_threshold=success_threshold, backend=backend)
        self.arena = arena
        self.max_step = max_step
        self.select_goal_space(goal_space)

    @property
    def action_size(self) -> int:
        return 2

    def reset(self, rng: jax.Array) -> State:
        start_rng, goal_rng = jax.random.split(rng)
        pos = jax.random.uniform(start_rng, (2,), minval=-self.arena, maxval=self.arena)
        goal = jax.random.uniform(goal_rng, (2,), minval=-self.arena, maxval=self.arena)
        return self.first_state(None, pos, goal)

    def step(self, state: State, action: jax.Array) -> State:
        pos = state.obs[:2]
        action = jnp.clip(action, -1.0, 1.0)
        pos = jnp.clip(pos + self.max_step * action, -self.arena, self.arena)
        return self.next_state(state, None, pos, 0.0)
