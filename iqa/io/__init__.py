"""Reading image files, pairing folder trees and writing results."""
from .images import IMAGE_SUFFIXES, DecodedImage, ImageReadError, read_header, read_image, read_rgb, write_image

__all__ = ["IMAGE_SUFFIXES", "DecodedImage", "ImageReadError", "read_header", "read_image", "read_rgb", "write_image"]
