"""`python -m crlx.train --env NAME ...`: tyro CLI -> Config -> `crlx.trainer.train`.

Flags take `--flag value` or `--flag=value`; nested fields are `--loss.energy l2`,
booleans take a value (`--loss.auto_entropy False`). Exit code 0 on success, 2 on a bad
config or a non-finite training metric, with the reason on stderr.
"""

from __future__ import annotations

import sys

from crlx.config import Config, ConfigError
from crlx.trainer import NonFiniteError, train


def parse_args(argv: list[str] | None = None) -> Config:
    """tyro CLI over Config: `--num_envs 128`, `--num_envs=128`, `--loss.energy l2`, bools take values."""
    import tyro

    return tyro.cli(
        Config,
        args=argv,
        use_underscores=True,
        config=(tyro.conf.FlagConversionOff,),
        description="Train contrastive RL (CRL) on a goal-conditioned env.",
    )


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    try:
        result = train(cfg)
    except (ConfigError, NonFiniteError) as err:
        print(f"crlx: error: {err}", file=sys.stderr)
        return 2
    last = result.history[-1]
    print(
        f"crlx: done: {last['env_steps']} env steps, eval/success={last['eval/success']:.3f}, "
        f"run dir {result.run_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
