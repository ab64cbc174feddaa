"""The map's names: two checkpoints close together do not write their names over each
other, and a name by the edge stays inside the drawing."""

from types import SimpleNamespace

from supervision.map import FONT, WIDTH, Spot, _cross, _labelled


def spot(name, x, y):
    return Spot(SimpleNamespace(name=name), 0, x, y)


def box(s):
    half = len(s.checkpoint.name) * FONT / 2
    return (s.label_x - half, s.label_y - FONT, s.label_x + half, s.label_y + FONT / 4)


def test_neighbours_names_do_not_cross():
    toll, site = _labelled(
        [spot("平湖收费站出口", 400, 200), spot("平湖市民生食品有限公司", 430, 215)]
    )
    assert not _cross(box(toll), box(site))
    assert site.label_y != toll.label_y
    for name in (toll, site):  # nor over the other's dot
        other = site if name is toll else toll
        assert not _cross(
            box(name), (other.x - other.r, other.y - other.r, other.x + other.r, other.y + other.r)
        )


def test_a_name_by_the_edge_stays_inside():
    [edge] = _labelled([spot("独山港司机之家", WIDTH - 10, 300)])
    assert box(edge)[2] <= WIDTH
    assert box(edge)[0] >= 0
