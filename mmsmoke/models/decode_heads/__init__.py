from .bvm_head import BVMHead
from .domain_fusion_head import DomainFusionHead

__all__ = ['BVMHead', 'DomainFusionHead']
