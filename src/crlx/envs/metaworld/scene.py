"""Load a Meta-World scene and make it run on MJX.

Meta-World's scenes use pairs MJX cannot collide and far more contact slots than the tasks need.
`load_scene` parses the XML from the installed metaworld package with `mujoco.MjSpec` and changes
it at load time (nothing is copied into crlx):

- every collidable cylinder becomes a convex 12-sided prism mesh of the same radius and height
  (a capsule for the long handle of handle-press-side moved its handle 17-53 mm off Meta-World's
  in an expert replay, the prism 1-10 mm);
- a collidable geom with a margin (the fingers' pads and claws have 1 mm) grows by its margin
  instead (MJX has no margins on mesh pairs, and its box pairs with margins replayed Meta-World's
  expert worse);
- collidable meshes with more than `MAX_MESH_VERTICES` vertices (the 6.7k-vertex gripper base,
  whose convex hull has 883) stop colliding and an added mesh of `HULL_VERTICES` of their hull's
  vertices collides instead (the hull's bounding box caught the window handle: 20-59 mm off
  Meta-World's in an expert replay of window-close, the 64-vertex hull at most 2.3 mm on 20 layouts);
- a fixed body and the jointed body mounted on it whose geoms touch at rest (the faucet's knob on
  its base) do not collide: MuJoCo finds no contact at distance 0, MJX finds one whose friction
  brakes the joint;
- bodies whose mass or inertia these changes moved (MuJoCo derives them from the geoms) keep
  Meta-World's, as an explicit inertial;
- MJX keeps at most `max_contact_points` contacts per colliding pair type and runs `iterations`
  solver iterations.

`load_scene` returns Meta-World's model, the changed one and the changes in words (for the docs).
"""

from __future__ import annotations

import dataclasses

import mujoco
import numpy as np

from crlx.envs.metaworld.package import scene_path

MAX_MESH_VERTICES = 5000
"""collidable meshes above this vertex count collide as HULL_VERTICES of their hull's vertices"""
HULL_VERTICES = 64
"""vertices kept (farthest-point picks) from the convex hull of a mesh above MAX_MESH_VERTICES"""
PRISM_SIDES = 12
"""sides of the prism that stands in for a collidable cylinder"""
TOUCHING = 1e-6
"""metres: geoms closer than this at rest count as touching"""


@dataclasses.dataclass(frozen=True)
class SceneOptions:
    """How the MJX scene differs from Meta-World's."""

    max_contact_points: int = 16
    """MJX contact slots per colliding pair type (MJX's custom numeric 'max_contact_points')"""
    iterations: int = 10
    """constraint solver iterations (Meta-World: 50)"""
    ls_iterations: int = 10
    """line-search iterations of the solver"""


def collides(geom) -> bool:
    return bool(geom.contype or geom.conaffinity)


def prism_vertices(radius: float, half_height: float, sides: int = PRISM_SIDES) -> np.ndarray:
    """(2 * sides, 3) vertices of a regular prism around the z axis whose corners lie on the circle."""
    angles = 2 * np.pi * np.arange(sides) / sides
    ring = np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=-1)
    top = np.concatenate([ring, np.full((sides, 1), half_height)], axis=-1)
    return np.concatenate([top, top * np.array([1.0, 1.0, -1.0])])


def hull_vertices(model: mujoco.MjModel, mesh: int) -> np.ndarray:
    """(n, 3) vertices of the convex hull MuJoCo computed for collidable mesh `mesh` (mesh frame)."""
    start = int(model.mesh_graphadr[mesh])
    if start < 0:
        raise ValueError(f"mesh {mesh} has no convex hull (it does not collide)")
    count = int(model.mesh_graph[start])
    indices = model.mesh_graph[start + 2 + count : start + 2 + 2 * count]
    return model.mesh_vert[int(model.mesh_vertadr[mesh]) + indices]


def farthest_points(points: np.ndarray, count: int) -> np.ndarray:
    """(min(count, n), 3) points picked greedily, each the farthest from those picked before
    (starting from the point farthest from the centroid); their hull lies inside the points' hull."""
    if len(points) <= count:
        return points
    picked = [int(np.argmax(np.linalg.norm(points - points.mean(0), axis=-1)))]
    distance = np.linalg.norm(points - points[picked[0]], axis=-1)
    for _ in range(count - 1):
        picked.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.linalg.norm(points - points[picked[-1]], axis=-1))
    return points[picked]


def geom_label(model: mujoco.MjModel, index: int) -> str:
    name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_GEOM, index)
    body_id = int(model.geom_bodyid[index])
    body_name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body_id)
    body = f"body {body_name}" if body_name else f"unnamed body {body_id}"
    return name or f"geom {index} of {body}"


def adapt(spec: mujoco.MjSpec, compiled: mujoco.MjModel, options: SceneOptions) -> list[str]:
    """Apply the load-time changes to `spec` (whose unchanged compile is `compiled`) in place;
    returns them in words."""
    changes = []
    large_meshes = []
    for index, geom in enumerate(spec.geoms):
        if not collides(geom):
            continue
        label = geom_label(compiled, index)
        if geom.type == mujoco.mjtGeom.mjGEOM_CYLINDER:
            radius, half_height = (float(v) for v in compiled.geom_size[index][:2])
            geom.fromto = [np.nan] * 6  # the compiled pos/quat below carry the placement
            geom.pos, geom.quat = compiled.geom_pos[index], compiled.geom_quat[index]
            mesh = spec.add_mesh(name=f"crlx_prism_{index}", uservert=prism_vertices(radius, half_height).ravel().tolist())
            geom.type, geom.meshname = mujoco.mjtGeom.mjGEOM_MESH, mesh.name
            changes.append(f"cylinder {label} -> {PRISM_SIDES}-sided prism")
        elif geom.type == mujoco.mjtGeom.mjGEOM_MESH:
            mesh_id = int(compiled.geom_dataid[index])
            if compiled.mesh_vertnum[mesh_id] > MAX_MESH_VERTICES:
                large_meshes.append((geom, index, label, mesh_id))
    for geom, index, label, mesh_id in large_meshes:
        corners = farthest_points(hull_vertices(compiled, mesh_id), HULL_VERTICES)
        mesh = spec.add_mesh(name=f"crlx_hull_{index}", uservert=corners.ravel().tolist())
        collider = geom.parent.add_geom(
            type=mujoco.mjtGeom.mjGEOM_MESH,
            meshname=mesh.name,
            pos=compiled.geom_pos[index],
            quat=compiled.geom_quat[index],
            contype=geom.contype,
            conaffinity=geom.conaffinity,
            condim=geom.condim,
            friction=geom.friction,
            group=3,
            rgba=[0, 0, 0, 0],
        )
        collider.name = f"crlx_hull_{index}"
        geom.contype = geom.conaffinity = 0
        changes.append(f"mesh {label} ({compiled.mesh_vertnum[mesh_id]} vertices) -> a {len(corners)}-vertex hull inside its convex hull for collisions")
    for parent, child in touching_mounts(compiled):
        spec.add_exclude(bodyname1=parent, bodyname2=child)
        changes.append(f"contacts between {parent} and {child} (jointed on it; touching at rest) excluded")
    folded = fold_margins(spec)
    if folded:
        changes.append(f"margin folded into the size of {', '.join(folded)}")
    spec.add_numeric(name="max_contact_points", data=[options.max_contact_points])
    changes.append(f"max_contact_points {options.max_contact_points}")
    if compiled.opt.iterations != options.iterations:
        changes.append(f"solver iterations {compiled.opt.iterations} -> {options.iterations}")
    spec.option.iterations = options.iterations
    spec.option.ls_iterations = options.ls_iterations
    return changes


def touching_mounts(model: mujoco.MjModel) -> list[tuple[str, str]]:
    """(fixed body, jointed child) name pairs whose collidable geoms touch (distance <= TOUCHING)
    in the model's initial state. MuJoCo finds no contact at distance 0 and MJX does, with friction
    that brakes the joint (the faucet's knob on its base)."""
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    body = lambda index: mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, index)  # noqa: E731

    def geoms(index):
        start = model.body_geomadr[index]
        return [g for g in range(start, start + model.body_geomnum[index]) if model.geom_contype[g] or model.geom_conaffinity[g]]

    pairs = []
    for child in range(1, model.nbody):
        parent = model.body_parentid[child]
        if parent == 0 or model.body_weldid[parent] != 0 or model.body_weldid[child] == 0:
            continue
        gaps = [mujoco.mj_geomDistance(model, data, a, b, 2 * TOUCHING, None) for a in geoms(parent) for b in geoms(child)]
        if gaps and min(gaps) <= TOUCHING:
            pairs.append((body(parent), body(child)))
    return pairs


def fold_margins(spec: mujoco.MjSpec) -> list[str]:
    """Margins of collidable geoms become size: a box, sphere or capsule grows by its margin, which
    then is 0. MJX has no margins on mesh pairs, and on the box pairs of push-back and shelf-place
    (the fingers' pads against a block) the expert replay was further from Meta-World's with the
    margins than without. Returns the geoms changed."""
    folded = []
    for geom in spec.geoms:
        if not collides(geom) or not (geom.margin or geom.gap):
            continue
        if geom.type == mujoco.mjtGeom.mjGEOM_MESH:
            raise ValueError(f"mesh geom {geom.name!r} has a margin MJX cannot simulate")
        grow = np.array([1.0, 1.0, 1.0]) if geom.type == mujoco.mjtGeom.mjGEOM_BOX else np.array([1.0, 0.0, 0.0])
        geom.size = np.asarray(geom.size) + (geom.margin - geom.gap) * grow
        geom.margin = geom.gap = 0.0
        folded.append(geom.name or f"an unnamed {mujoco.mjtGeom(geom.type).name[7:].lower()}")
    return folded


def load_scene(relative: str, options: SceneOptions = SceneOptions()) -> tuple[mujoco.MjModel, mujoco.MjModel, list[str]]:
    """(Meta-World's model as is, the MJX-ready model, list of changes) for `assets/<relative>`.
    Both models have the same joints, bodies and sites (the same qpos layout)."""
    spec = mujoco.MjSpec.from_file(str(scene_path(relative)))
    original = spec.compile()
    changes = adapt(spec, original, options)
    adapted = spec.compile()
    kept = keep_inertia(spec, original, adapted)
    if kept:
        changes.append(f"Meta-World's mass and inertia kept for {', '.join(kept)} (their collision geoms changed)")
        adapted = spec.compile()
    return original, adapted, changes


def keep_inertia(spec: mujoco.MjSpec, original: mujoco.MjModel, adapted: mujoco.MjModel) -> list[str]:
    """Bodies whose mass, centre of mass or inertia the geom changes moved (MuJoCo derives them from
    the geoms: the folded margins made each claw 45% heavier) get `original`'s values as an explicit
    inertial in `spec`. Returns their names."""
    kept = []
    for index, body in enumerate(bodies_in_model_order(spec)):
        if index == 0:
            continue
        same = (np.isclose(original.body_mass[index], adapted.body_mass[index], rtol=1e-9, atol=0)
                and np.allclose(original.body_inertia[index], adapted.body_inertia[index], rtol=1e-9, atol=0)
                and np.allclose(original.body_ipos[index], adapted.body_ipos[index], rtol=0, atol=1e-12))
        if same:
            continue
        body.explicitinertial = True
        body.mass = float(original.body_mass[index])
        body.ipos = original.body_ipos[index]
        body.iquat = original.body_iquat[index]
        body.inertia = original.body_inertia[index]
        kept.append(mujoco.mj_id2name(original, mujoco.mjtObj.mjOBJ_BODY, index) or f"unnamed body {index}")
    return kept


def bodies_in_model_order(spec: mujoco.MjSpec) -> list:
    """spec's bodies in the compiled model's order (depth first from the world)."""
    order, stack = [], [spec.worldbody]
    while stack:
        body = stack.pop()
        order.append(body)
        stack.extend(reversed(body.bodies))
    return order
