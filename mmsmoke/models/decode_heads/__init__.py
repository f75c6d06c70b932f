from .bvm_head import BVMHead

__all__ = ['BVMHead']
