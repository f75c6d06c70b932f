from .drawing import (COLORMAPS, SMOKE_COLOR, colorize_map, draw_smoke_overlay,
                      map_to_rgb, put_title, tile_panels)
from .smoke_visualizer import SmokeLocalVisualizer

__all__ = [
    'SmokeLocalVisualizer', 'COLORMAPS', 'SMOKE_COLOR', 'colorize_map',
    'draw_smoke_overlay', 'map_to_rgb', 'put_title', 'tile_panels'
]
